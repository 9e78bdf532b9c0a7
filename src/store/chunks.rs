//! Objects too large for one DynamoDB item (400 KB), up to MongoDB's 16 MB: the object's item
//! (its head) keeps its smaller fields and a pointer (`codec::CHUNKS`) to a version of chunks
//! holding the larger ones, as JSON (deflated when that saves a tenth or more: DynamoDB bills
//! every byte written and read) cut into pieces of `CHUNK_BYTES`. A version is written
//! whole before the head that names it, never changed, and removed after the head moved on,
//! so a reader sees one whole version or, when it comes late to a version just removed, reads
//! the head again. Each chunk is its own partition (`~x:<version>:<i>`), so writing a large
//! object spreads over DynamoDB's key ranges. Every read of the store splices the chunks into
//! the heads it answers (one BatchGetItem for a page's heads, or for a group of them holding
//! about 16 MB: `groups`), marking the pointer read, so no
//! room above ever decodes half an object; filters see the moved fields through the pointer
//! (`widen`): a head whose moved fields a filter names passes it and is judged whole above.
//! `check` finds chunks no head names (a write cut off between its steps) and `--fix` removes
//! them.

use super::*;
use crate::codec::{
    attr_measure, from_attr, item_chunks, item_size, to_attr, ChunkRef, CHUNKS, CHUNKS_READ,
    EXPIRES, MAX_ITEM_BYTES, REV, TOKEN,
};
use serde_json::{Map, Value};

/// The partitions of chunks: `~x:<version>:<i>`.
pub const CHUNK_PARTITION: &str = "~x:";
/// The sort key of every chunk (its partition names it whole).
pub const CHUNK_SK: &str = "c";
/// MongoDB's largest document, here measured as the object's JSON as stored.
pub const MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;
/// A chunk's share of the JSON: with its keys and attributes, under DynamoDB's 400 KB.
const CHUNK_BYTES: usize = 400_000;
/// Deflate's fastest level: most of what it saves on JSON at several times the speed of its
/// default (6).
const DEFLATE_LEVEL: u8 = 1;
/// What a chunked object's head keeps: its smallest fields up to this size, so filters and
/// updates in place see most fields and a read of the class reads little of it.
pub const HEAD_BYTES: usize = 64 * 1024;
/// The longest list of moved field names a pointer holds; past it, it says any field may be
/// in the chunks (and every field goes there).
const MOVED_NAMES_BYTES: usize = 16 * 1024;
/// A chunk's owner (the object's partition and key, for `check`) and its piece of the JSON.
pub const OWNER_PK: &str = "_o";
pub const OWNER_SK: &str = "_k";
const DATA: &str = "_d";
/// Times a reader reads a head again when the version it named was removed meanwhile.
const READ_AGAIN: usize = 20;

/// An object item made to fit: the head to write (the whole item when it fits one) and the
/// chunks to write before it.
#[derive(Debug)]
pub struct Split {
    pub head: Item,
    pub chunks: Vec<Item>,
    pub version: Option<ChunkRef>,
}

/// The keys of a version's chunks.
pub fn chunk_keys(r: &ChunkRef) -> Vec<(String, String)> {
    (0..r.count)
        .map(|i| {
            (
                format!("{CHUNK_PARTITION}{}:{i}", r.version),
                CHUNK_SK.to_string(),
            )
        })
        .collect()
}

/// Of a chunk's partition key, its version and index.
pub fn parse_chunk_pk(pk: &str) -> Option<(&str, usize)> {
    let rest = pk.strip_prefix(CHUNK_PARTITION)?;
    let (v, i) = rest.rsplit_once(':')?;
    Some((v, i.parse().ok()?))
}

/// A new version: the time it was made (milliseconds, 11 hex digits, so `check` tells a write
/// under way from one cut off) and 84 random bits.
fn new_version() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    format!("{ms:011x}{:021x}", rand::random::<u128>() >> 44)
}

/// When a version was made (epoch milliseconds).
pub fn version_time(version: &str) -> Option<i64> {
    i64::from_str_radix(version.get(..11)?, 16).ok()
}

/// The attributes of an object item that are not fields.
fn reserved(name: &str) -> bool {
    name == PK || name == SK || name == REV || name == TOKEN || name == EXPIRES || name == CHUNKS
}

/// Some fields of an item as JSON.
fn fields_json<'a>(
    fields: impl Iterator<Item = (&'a String, &'a AttributeValue)>,
) -> Result<Vec<u8>> {
    let mut obj = Map::new();
    for (k, v) in fields {
        obj.insert(k.clone(), from_attr(v)?);
    }
    serde_json::to_vec(&obj).map_err(|e| Error::Internal(e.to_string()))
}

/// The size of an object as MongoDB's limit is counted here, its fields as JSON, from the
/// sizes of the JSON of two parts of them: `{a}` and `{b}` are `{a,b}`.
fn joined_size(one: usize, other: usize) -> usize {
    match (one > 2, other > 2) {
        (true, true) => one + other - 1,
        (true, false) => one,
        _ => other,
    }
}

fn too_large(bytes: usize) -> Error {
    Error::TooLarge(format!(
        "the object is {bytes} bytes as JSON; an object holds at most {MAX_OBJECT_BYTES} bytes (16 MB, as in MongoDB)"
    ))
}

/// Makes an object item fit DynamoDB: unchanged when it fits one item; else its largest fields
/// go to a new version of chunks (refused, before anything is written, past 16 MB).
pub fn split(mut item: Item) -> Result<Split> {
    let size = item_size(&item);
    if size <= MAX_ITEM_BYTES {
        return Ok(Split {
            head: item,
            chunks: Vec::new(),
            version: None,
        });
    }
    let mut fields: Vec<(String, usize)> = item
        .iter()
        .filter(|(k, _)| !reserved(k))
        .map(|(k, v)| (k.clone(), k.len() + attr_measure(v).0))
        .collect();
    fields.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let (mut head, mut names) = (size, 0usize);
    let mut moved = Vec::new();
    for (name, bytes) in &fields {
        if head + names + 64 <= HEAD_BYTES {
            break;
        }
        head -= bytes;
        names += name.len() + 2;
        moved.push(name.clone());
    }
    let any = names > MOVED_NAMES_BYTES;
    if any {
        moved = fields.into_iter().map(|(n, _)| n).collect();
    }
    moved.sort();
    let taken: Vec<(String, AttributeValue)> = moved
        .iter()
        .filter_map(|n| Some((n.clone(), item.remove(n)?)))
        .collect();
    let json = fields_json(taken.iter().map(|(k, v)| (k, v)))?;
    // Refused past 16 MB, before anything is written.
    let kept = fields_json(item.iter().filter(|(k, _)| !reserved(k)))?;
    let bytes = joined_size(json.len(), kept.len());
    let json_bytes = json.len();
    if bytes > MAX_OBJECT_BYTES {
        return Err(too_large(bytes));
    }
    let packed = miniz_oxide::deflate::compress_to_vec(&json, DEFLATE_LEVEL);
    let deflated = packed.len() < json.len() - json.len() / 10;
    let json = if deflated { packed } else { json };
    let version = ChunkRef {
        version: new_version(),
        count: json.len().div_ceil(CHUNK_BYTES),
        pointer: HashMap::new(),
    };
    let owner = |k: &str| {
        item.get(k)
            .cloned()
            .unwrap_or(AttributeValue::S(String::new()))
    };
    let (owner_pk, owner_sk) = (owner(PK), owner(SK));
    let expires = item.get(EXPIRES).cloned();
    let chunks = chunk_keys(&version)
        .into_iter()
        .zip(json.chunks(CHUNK_BYTES))
        .map(|((pk, sk), piece)| {
            let mut c = Store::key(&pk, &sk);
            c.insert(OWNER_PK.into(), owner_pk.clone());
            c.insert(OWNER_SK.into(), owner_sk.clone());
            c.insert(DATA.into(), AttributeValue::B(piece.to_vec().into()));
            if let Some(e) = &expires {
                c.insert(EXPIRES.into(), e.clone());
            }
            c
        })
        .collect();
    let mut pointer = HashMap::from([
        ("k".to_string(), owner_sk),
        ("b".to_string(), AttributeValue::N(json_bytes.to_string())),
        ("v".to_string(), AttributeValue::S(version.version.clone())),
        (
            "n".to_string(),
            AttributeValue::N(version.count.to_string()),
        ),
    ]);
    if deflated {
        pointer.insert("z".into(), AttributeValue::S("deflate".into()));
    }
    if any {
        pointer.insert("a".into(), AttributeValue::Bool(true));
    } else {
        let m = moved
            .into_iter()
            .map(|n| (n, AttributeValue::Bool(true)))
            .collect();
        pointer.insert("m".into(), AttributeValue::M(m));
    }
    item.insert(CHUNKS.into(), AttributeValue::M(pointer.clone()));
    let version = ChunkRef { pointer, ..version };
    Ok(Split {
        head: item,
        chunks,
        version: Some(version),
    })
}

/// The head of a new revision that leaves every field a version's chunks hold as it was
/// (`unchanged`): the new item without them, naming the same version, so no chunk is written
/// or removed (the item given back when a moved field changed, the chunks may hold any field,
/// or the head would not fit one item). Refused past 16 MB, as `split` refuses.
pub fn keep(
    mut item: Item,
    old: &ChunkRef,
    unchanged: impl Fn(&str) -> bool,
) -> Result<std::result::Result<Item, Item>> {
    let moved_bytes = old
        .pointer
        .get("b")
        .and_then(|b| b.as_n().ok()?.parse().ok());
    let (Some(AttributeValue::M(moved)), Some(moved_bytes)) = (old.pointer.get("m"), moved_bytes)
    else {
        return Ok(Err(item));
    };
    if old.pointer.contains_key("a") || !moved.keys().all(|f| unchanged(f)) {
        return Ok(Err(item));
    }
    let pointer = AttributeValue::M(old.pointer.clone());
    let taken: usize = moved
        .keys()
        .filter_map(|f| Some(f.len() + attr_measure(item.get(f)?).0))
        .sum();
    if item_size(&item) - taken + CHUNKS.len() + attr_measure(&pointer).0 > MAX_ITEM_BYTES {
        return Ok(Err(item));
    }
    for f in moved.keys() {
        item.remove(f);
    }
    let kept = fields_json(item.iter().filter(|(k, _)| !reserved(k)))?;
    let bytes = joined_size(moved_bytes, kept.len());
    if bytes > MAX_OBJECT_BYTES {
        return Err(too_large(bytes));
    }
    item.insert(CHUNKS.into(), pointer);
    Ok(Ok(item))
}

/// The key of the object a head's pointer belongs to (a count's projection sends the pointer
/// alone); None for an item that is no chunked head.
pub fn owner_key(item: &Item) -> Option<String> {
    let AttributeValue::M(p) = item.get(CHUNKS)? else {
        return None;
    };
    p.get("k")?.as_s().ok().cloned()
}

/// The fields a head's pointer says its chunks hold (None: any of them).
fn moved_fields(head: &Item) -> Option<Vec<&str>> {
    let AttributeValue::M(p) = head.get(CHUNKS)? else {
        return Some(Vec::new());
    };
    if p.contains_key("a") {
        return None;
    }
    Some(match p.get("m") {
        Some(AttributeValue::M(m)) => m.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    })
}

/// Whether a head's chunks may hold one of `names` (a filter's attribute names): then only
/// the whole object can say whether it passes.
pub fn moves_any(head: &Item, names: &HashMap<String, String>) -> bool {
    match moved_fields(head) {
        None => head.contains_key(CHUNKS),
        Some(m) => names.values().any(|n| m.contains(&n.as_str())),
    }
}

/// The longest filter expression DynamoDB takes (4 KB), less a margin.
const MAX_EXPRESSION: usize = 4000;

/// `f` widened to let through the heads whose chunks may hold a field it names (to be judged
/// whole above); the heads of other objects hold every field it names, so it judges them
/// exactly.
pub fn widen(f: &Filter) -> Filter {
    widened(f).0
}

/// `widen`, and whether every chunked head passes it (the expression naming each field would
/// be too long): then none is judged by its head.
pub fn widened(f: &Filter) -> (Filter, bool) {
    let mut names = f.names.clone();
    names.insert("#chp".into(), CHUNKS.into());
    // DynamoDB refuses redundant parentheses.
    let inner = if wrapped(&f.expression) {
        f.expression.clone()
    } else {
        format!("({})", f.expression)
    };
    let mut expression = format!("{inner} OR attribute_exists(#chp.#cha)");
    names.insert("#cha".into(), "a".into());
    let mut placeholders: Vec<&String> = f.names.keys().collect();
    placeholders.sort();
    for p in placeholders {
        expression.push_str(&format!(" OR attribute_exists(#chp.#chm.{p})"));
    }
    names.insert("#chm".into(), "m".into());
    let all = expression.len() > MAX_EXPRESSION || f.names.is_empty();
    if all {
        // Too long to name each: every chunked head passes.
        names.remove("#cha");
        names.remove("#chm");
        expression = format!("{inner} OR attribute_exists(#chp)");
    }
    let f = Filter {
        expression,
        names,
        values: f.values.clone(),
    };
    (f, all)
}

/// Whether an expression is one parenthesised whole (`(a) AND (b)` is not).
fn wrapped(e: &str) -> bool {
    let e = e.trim();
    if !e.starts_with('(') || !e.ends_with(')') {
        return false;
    }
    let mut depth = 0i32;
    for (i, ch) in e.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && i + 1 < e.len() {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// Splices the JSON of a version's chunks into its head; None when a chunk is missing.
fn splice(mut head: Item, r: &ChunkRef, found: &HashMap<String, Item>) -> Result<Option<Item>> {
    let mut json = Vec::new();
    for (pk, _) in chunk_keys(r) {
        match found.get(&pk).and_then(|c| c.get(DATA)) {
            Some(AttributeValue::B(b)) => json.extend_from_slice(b.as_ref()),
            _ => return Ok(None),
        }
    }
    let deflated = matches!(head.get(CHUNKS), Some(AttributeValue::M(p)) if p.contains_key("z"));
    if deflated {
        json = miniz_oxide::inflate::decompress_to_vec_with_limit(&json, MAX_OBJECT_BYTES + 1024)
            .map_err(|e| Error::Internal(format!("an object's chunks do not inflate: {e:?}")))?;
    }
    let fields: Map<String, Value> = serde_json::from_slice(&json)
        .map_err(|e| Error::Internal(format!("an object's chunks do not decode: {e}")))?;
    for (k, v) in &fields {
        head.insert(k.clone(), to_attr(v)?);
    }
    if let Some(AttributeValue::M(p)) = head.get_mut(CHUNKS) {
        p.insert(CHUNKS_READ.into(), AttributeValue::Bool(true));
    }
    Ok(Some(head))
}

/// Whether an item's TTL time has passed (DynamoDB deletes it, and what is kept for it, days
/// apart).
fn expired(item: &Item) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    matches!(item.get(EXPIRES), Some(AttributeValue::N(n)) if n.parse::<i64>().is_ok_and(|e| e <= now))
}

/// The chunks a read splices in at once, at most (about 16 MB): a page of many large objects'
/// heads is completed and handed on a group at a time.
const CHUNKS_AT_ONCE: usize = 40;

/// Items read, in groups whose chunks together stay under `CHUNKS_AT_ONCE` (a group holds one
/// item at least), in their order.
pub(super) fn groups(items: Vec<Item>) -> Vec<Vec<Item>> {
    let mut out: Vec<Vec<Item>> = Vec::new();
    let mut chunks = 0;
    for item in items {
        let n = item_chunks(&item).map_or(0, |r| r.count);
        match out.last_mut() {
            Some(group) if n == 0 || chunks + n <= CHUNKS_AT_ONCE => group.push(item),
            _ => {
                out.push(vec![item]);
                chunks = 0;
            }
        }
        chunks += n;
    }
    out
}

impl Store {
    /// Writes a version's chunks (before the head that names it).
    pub async fn write_chunks(&self, chunks: Vec<Item>) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        self.batch_put(chunks).await
    }

    /// Removes a version's chunks (once no head names it, or none ever will).
    pub async fn drop_chunks(&self, r: &ChunkRef) -> Result<()> {
        self.batch_delete(&chunk_keys(r)).await
    }

    /// Whether the head at `pk`/`sk` names `version`.
    pub async fn names(&self, pk: &str, sk: &str, version: &str) -> Result<bool> {
        Ok(self
            .get_head(pk, sk)
            .await?
            .and_then(|head| item_chunks(&head))
            .is_some_and(|r| r.version == version))
    }

    /// Removes a version of chunks written for the object at `pk`/`sk` unless its head names
    /// it (a write whose answer was lost may have landed); best effort: what stays, no answer
    /// shows, and `check --fix` removes.
    pub async fn drop_unless_named(&self, pk: &str, sk: &str, r: &ChunkRef) {
        if let Ok(false) = self.names(pk, sk, &r.version).await {
            let _ = self.drop_chunks(r).await;
        }
    }

    /// The items read, each chunked head with its chunks spliced in (one BatchGetItem for
    /// all); a head whose version was removed meanwhile is read again, and left out once it
    /// is gone (deleted, or expired).
    pub(super) async fn complete(&self, items: Vec<Item>) -> Result<Vec<Item>> {
        if !items.iter().any(|i| i.contains_key(CHUNKS)) {
            return Ok(items);
        }
        let keys: Vec<(String, String)> = items
            .iter()
            .filter_map(item_chunks)
            .flat_map(|r| chunk_keys(&r))
            .collect();
        let found = self.chunks_of(keys).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Some(r) = item_chunks(&item) else {
                out.push(item);
                continue;
            };
            let (pk, sk) = (text_of(&item, PK), text_of(&item, SK));
            match splice(item, &r, &found)? {
                Some(whole) => out.push(whole),
                None => out.extend(self.complete_again(&pk, &sk).await?),
            }
        }
        Ok(out)
    }

    /// An item as a read answers it: a chunked object's head with its chunks spliced in (None:
    /// the object is gone).
    pub async fn whole(&self, item: Item) -> Result<Option<Item>> {
        Ok(self.complete(vec![item]).await?.pop())
    }

    /// Chunk items by partition key.
    async fn chunks_of(&self, keys: Vec<(String, String)>) -> Result<HashMap<String, Item>> {
        Ok(self
            .batch_get_keys(keys)
            .await?
            .into_iter()
            .map(|c| (text_of(&c, PK), c))
            .collect())
    }

    /// The item at `pk`/`sk` read again with its chunks, after the version its head named was
    /// removed (a writer moved it on); None once it is gone.
    async fn complete_again(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        for attempt in 0..READ_AGAIN as u32 {
            let Some(head) = self.get_head(pk, sk).await? else {
                return Ok(None);
            };
            let Some(r) = item_chunks(&head) else {
                return Ok(Some(head));
            };
            let found = self.chunks_of(chunk_keys(&r)).await?;
            if let Some(whole) = splice(head.clone(), &r, &found)? {
                return Ok(Some(whole));
            }
            if expired(&head) {
                return Ok(None);
            }
            backoff(attempt.min(6)).await;
        }
        Err(Error::Internal(format!(
            "{pk} {sk}: the chunks its head names are missing"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{item_to_stored, object_to_item};
    use serde_json::json;

    fn object(fields: Value) -> Item {
        object_to_item("C", "k", 1, fields.as_object().unwrap()).unwrap()
    }

    fn found(chunks: &[Item]) -> HashMap<String, Item> {
        chunks.iter().map(|c| (text_of(c, PK), c.clone())).collect()
    }

    #[test]
    fn an_item_that_fits_is_left_whole() {
        let s = split(object(json!({"a": "x".repeat(1000)}))).unwrap();
        assert!(s.chunks.is_empty() && s.version.is_none());
        assert!(!s.head.contains_key(CHUNKS));
    }

    /// Text that deflate cannot shrink much: seeded random letters and digits.
    fn noise(n: usize, seed: u64) -> String {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let abc = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..n)
            .map(|_| abc[rng.random_range(0..64)] as char)
            .collect()
    }

    #[test]
    fn the_largest_fields_go_to_chunks_and_come_back_whole() {
        let big = noise(1_400_000, 1);
        let list: Vec<String> = (0..3000).map(|i| noise(100, i)).collect();
        let obj = json!({"small": 1, "name": "n", "big": big, "list": list});
        let s = split(object(obj.clone())).unwrap();
        let r = s.version.clone().unwrap();
        assert_eq!(r.count, s.chunks.len());
        // 1.7 MB of JSON, deflated to about three quarters: 4 chunks rather than 5.
        assert_eq!(s.chunks.len(), 4);
        assert!(s.chunks.iter().all(|c| item_size(c) <= MAX_ITEM_BYTES));
        assert!(item_size(&s.head) <= HEAD_BYTES);
        assert!(s.head.contains_key("small") && s.head.contains_key("name"));
        assert!(!s.head.contains_key("big") && !s.head.contains_key("list"));
        // A head alone is no object.
        assert!(item_to_stored(&s.head).is_err());
        let whole = splice(s.head.clone(), &r, &found(&s.chunks))
            .unwrap()
            .unwrap();
        let st = item_to_stored(&whole).unwrap();
        let mut want = obj.as_object().unwrap().clone();
        want.insert("objectId".into(), json!("k"));
        assert_eq!(Value::Object(st.obj), Value::Object(want));
        assert_eq!(st.chunks, Some(r.clone()));
        // A missing chunk is no answer.
        assert!(splice(s.head, &r, &found(&s.chunks[1..]))
            .unwrap()
            .is_none());
    }

    #[test]
    fn what_deflates_well_is_stored_deflated() {
        let obj = json!({"ids": (0..40_000).map(|i| format!("user_{i:08}")).collect::<Vec<_>>()});
        let s = split(object(obj.clone())).unwrap();
        let r = s.version.clone().unwrap();
        // 640 KB of ids as JSON (560 KB as an item): one chunk of a fraction of that.
        assert_eq!(r.count, 1);
        let AttributeValue::M(p) = &s.head[CHUNKS] else {
            panic!()
        };
        assert!(p.contains_key("z"));
        assert!(
            item_size(&s.chunks[0]) < 200_000,
            "{}",
            item_size(&s.chunks[0])
        );
        let whole = splice(s.head, &r, &found(&s.chunks)).unwrap().unwrap();
        assert_eq!(item_to_stored(&whole).unwrap().obj["ids"], obj["ids"]);
    }

    #[test]
    fn filters_let_through_heads_whose_chunks_hold_a_named_field() {
        let s = split(object(json!({"small": 1, "big": "x".repeat(500_000)}))).unwrap();
        let names = |n: &str| HashMap::from([("#a".to_string(), n.to_string())]);
        assert!(moves_any(&s.head, &names("big")));
        assert!(!moves_any(&s.head, &names("small")));
        let f = Filter {
            expression: "#a = :v".into(),
            names: names("small"),
            values: HashMap::new(),
        };
        let w = widen(&f);
        assert_eq!(
            w.expression,
            "(#a = :v) OR attribute_exists(#chp.#cha) OR attribute_exists(#chp.#chm.#a)"
        );
        assert_eq!(w.names["#chm"], "m");
        let f = Filter {
            expression: "(#a = :v)".into(),
            ..f
        };
        assert!(widen(&f).expression.starts_with("(#a = :v) OR"));
        assert!(!wrapped("(#a = :v) AND (#b = :w)"));
    }

    #[test]
    fn many_small_fields_all_go_to_chunks() {
        let mut m = Map::new();
        for i in 0..30_000 {
            m.insert(format!("field_{i:05}"), json!("0123456789"));
        }
        let s = split(object(Value::Object(m.clone()))).unwrap();
        assert!(moves_any(
            &s.head,
            &HashMap::from([("#x".into(), "other".into())])
        ));
        assert!(!s.head.contains_key("field_00000"));
        let r = s.version.clone().unwrap();
        let whole = splice(s.head, &r, &found(&s.chunks)).unwrap().unwrap();
        assert_eq!(item_to_stored(&whole).unwrap().obj.len(), m.len() + 1);
    }

    #[test]
    fn past_sixteen_megabytes_is_refused() {
        // `{"s":"…"}` is 8 bytes around the string.
        let at = object(json!({"s": "x".repeat(MAX_OBJECT_BYTES - 8)}));
        assert!(split(at).is_ok());
        let over = object(json!({"s": "x".repeat(MAX_OBJECT_BYTES - 7)}));
        let e = split(over).unwrap_err();
        assert_eq!(e.code(), crate::error::code::OBJECT_TOO_LARGE);
    }

    #[test]
    fn heads_are_completed_a_few_megabytes_at_a_time() {
        let head = |n: usize| {
            let mut item = Store::key("C", "k");
            let p = HashMap::from([
                ("v".to_string(), AttributeValue::S("v".into())),
                ("n".to_string(), AttributeValue::N(n.to_string())),
            ]);
            item.insert(CHUNKS.into(), AttributeValue::M(p));
            item
        };
        let plain = Store::key("C", "p");
        let sizes = |g: Vec<Vec<Item>>| -> Vec<usize> { g.iter().map(Vec::len).collect() };
        assert_eq!(sizes(groups(vec![plain.clone(); 5])), [5]);
        let items = vec![head(30), plain.clone(), head(10), head(1), head(41), plain];
        assert_eq!(sizes(groups(items)), [3, 1, 2]);
    }

    #[test]
    fn an_objects_size_is_its_fields_json() {
        let obj = json!({"a": 1, "b": "x", "c": [1, 2]});
        let whole = serde_json::to_vec(&obj).unwrap().len();
        let one = serde_json::to_vec(&json!({"a": 1, "c": [1, 2]})).unwrap();
        let other = serde_json::to_vec(&json!({"b": "x"})).unwrap();
        assert_eq!(joined_size(one.len(), other.len()), whole);
        assert_eq!(joined_size(one.len(), 2), one.len());
        assert_eq!(joined_size(2, other.len()), other.len());
    }

    #[test]
    fn chunk_keys_name_their_version() {
        let r = ChunkRef {
            version: "ab".into(),
            count: 2,
            pointer: HashMap::new(),
        };
        let keys = chunk_keys(&r);
        assert_eq!(keys[1].0, "~x:ab:1");
        assert_eq!(parse_chunk_pk(&keys[1].0), Some(("ab", 1)));
        let v = new_version();
        assert_eq!(v.len(), 32);
        let age = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            - version_time(&v).unwrap();
        assert!((0..60_000).contains(&age), "{age}");
    }
}
