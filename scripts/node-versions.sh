# Node.js releases the tests run on besides the one on PATH (sourced by setup.sh and test.sh):
# binaries from the npm registry's `node-linux-<arch>` packages, so no system install is
# needed, cached in .cache/node/<version>. `node_bin <version>` answers the folder holding
# that version's `node`, fetching it the first time.
NODE_VERSIONS="22.23.5 24.22.3"

node_bin() {
  local version=$1 arch dir
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "no node-linux package for $(uname -m)" >&2; return 1 ;;
  esac
  dir="$PWD/.cache/node/$version"
  if [ ! -x "$dir/bin/node" ]; then
    mkdir -p "$dir"
    local tgz
    tgz=$(cd "$dir" && npm pack "node-linux-$arch@$version" --silent)
    tar xzf "$dir/$tgz" -C "$dir" --strip-components=1
    rm -f "$dir/$tgz"
  fi
  echo "$dir/bin"
}
