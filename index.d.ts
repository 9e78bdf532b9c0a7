// Types of the public API: the seed-compatible `DynamoDB` entry point, the Parse Server
// storage adapter it hands out, and the Mongo-style `Partition` API for use without Parse.

export interface DynamoDBOptions {
  /** AWS region, e.g. `eu-central-1`. Defaults to the AWS default chain (AWS_REGION, profile). */
  region?: string
  /** Endpoint URL, for a local DynamoDB-compatible server (e.g. `http://127.0.0.1:8000`), or
   * `'embedded'` for the in-process store. */
  endpoint?: string
  /** Serve from the in-process DynamoDB-compatible store (dynoxide on SQLite): `true` keeps its
   * data in `.parse-dynamodb/store.db` under the working directory, a string names the data
   * file, `':memory:'` keeps nothing. Also used when neither `endpoint` nor an AWS region is
   * configured anywhere (options, environment, profile). */
  embedded?: boolean | string
  /** Static credentials; when absent the default AWS credential chain is used
   * (environment, profile, SSO, web identity, ECS/EC2 roles). Local endpoints need none. */
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
  /** Same as the three above, in AWS SDK v3 form. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** Create the table (on-demand billing) when it does not exist. Default `true`. */
  createTable?: boolean
  /** Attempts per DynamoDB request, first one included (standard retry with backoff). Default 5. */
  maxAttempts?: number
  /** AWS SDK v2 style: retries after the first attempt (`maxAttempts = maxRetries + 1`). */
  maxRetries?: number
  /** Timeout of one DynamoDB operation, retries included, in ms. Default 30000. */
  timeoutMs?: number
  /** Read preference of finds and counts on the app's own classes that name none (a query's
   * own `readPreference` always wins). `'SECONDARY'`, `'SECONDARY_PREFERRED'` or `'NEAREST'`
   * read eventually consistent: half the read units, but a read may miss a write of the last
   * second. Parse's own classes (`_User`, `_Session`, `_Role`, …), logins, uniqueness checks
   * and writes stay strongly consistent. Default `'PRIMARY'` (strongly consistent). */
  readPreference?: 'PRIMARY' | 'PRIMARY_PREFERRED' | 'SECONDARY' | 'SECONDARY_PREFERRED' | 'NEAREST'
  /** Automatic indexes: when a query has to read a class's whole partition, costing at least
   * `minUnits` read units and `ratio` times what the index would read, the adapter builds that
   * index itself (equality, `$in`, range or prefix field; sort field; or equality + sort
   * compound), in the background, and queries use it once it is back-filled. At most
   * `maxPerClass` per class. `false` turns it off. Default
   * `{ minUnits: 25, ratio: 4, maxPerClass: 8 }`. */
  autoIndex?: boolean | { minUnits?: number; ratio?: number; maxPerClass?: number }
  /** Sharding of hot indexes: when DynamoDB keeps throttling the writes of one index's
   * partition (an index on `createdAt`, `updatedAt` or another value that only grows takes
   * every new entry at the end of one key range, which DynamoDB cannot split: ~500 creates/s),
   * the adapter rebuilds that index spread over 16 partitions by objectId, in the background,
   * and drops the old one. A sorted page of it then reads 16 small Queries (one round trip,
   * at least 16 read units) beside its rows. `false` turns it off. Default `true`. */
  shardHotIndexes?: boolean
  /** Turn the table's stream on (UpdateTable) at start. Tables are created without one; the first
   * server following it (`enableSchemaHooks`, a LiveQuery subscriber) turns it on anyway. */
  stream?: boolean
  /** Log each Parse request that DynamoDB billed at least this many read or write units for,
   * with the plan of each query it ran (a warning through the logger). */
  costLog?: { readUnits?: number; writeUnits?: number }
  /** The cost report's prices (`region`, else the adapter's region, else us-east-1; `prices`
   * over the region's on-demand prices, dollars per million units) and, with
   * `saveEverySeconds`, a copy of this server's ledger written to the table that often for
   * `npx parse-server-dynamodb cost-report`. */
  costReport?: { region?: string; prices?: { readPerMillion?: number; writePerMillion?: number }; saveEverySeconds?: number }
  /** `false`: Parse requests are not followed (no AsyncLocalStorage, no diagnostics channel),
   * so every call's units go to the `(no request)` row. Default on. */
  costLedger?: boolean
  /** Each Parse response tells what it cost in a `Server-Timing` header: `dynamodb` (read and
   * write units, DynamoDB requests) and `dynamodb-query-N` (each query's plan and units), shown
   * by browsers' developer tools. */
  costHeader?: boolean
  /** The read units a find, count or aggregate may cost: one whose cheapest plan is estimated
   * above it is refused (Parse.Error EXCEEDED_QUOTA, 140, naming the index that would serve it)
   * and one that reads beyond it is stopped; `mode: 'warn'` runs them and logs instead. */
  maxReadUnitsPerQuery?: number | { units: number; mode?: 'refuse' | 'warn' }
  /** Classes whose objects DynamoDB's TTL deletes at a Date field, with every item kept for
   * them: `{ClassName: 'field'}`. `_Session` expires at `expiresAt` unless `{_Session: null}`. */
  ttl?: Record<string, string | null>
  /** Passed to Parse Server as the adapter's `enableSchemaHooks`. */
  enableSchemaHooks?: boolean
  /** Passed to Parse Server as the adapter's `schemaCacheTtl` (ms). */
  schemaCacheTtl?: number
  /** Accepted for compatibility with the old JS adapter and ignored. */
  apiVersion?: string
  /** Where the adapter's own messages go (index back-fill progress, dropped indexes). Default:
   * Parse Server's logger when Parse Server is installed, else the console's error stream. */
  logger?: Logger
}

/** The subset of a logger (Parse Server's, winston, pino, console) the adapter writes to. */
export interface Logger {
  info(message: string): void
  warn(message: string): void
  error?(message: string): void
}

/** The Parse Server storage adapter: pass it as `databaseAdapter`. */
export declare class DynamoStorageAdapter {
  readonly canSortOnJoinTables: false
  enableSchemaHooks: boolean
  schemaCacheTtl?: number
  /** The native core, for `new dynamo.Partition(table, className, adapter.service)`. */
  readonly service: unknown
  /** DynamoDB requests, consumed capacity units and items reads sent back, since start, in
   * total and per operation; `refused`: writes whose condition failed (AWS bills each at least
   * one write unit, counted in `writeUnits`). */
  consumedCapacity(): Promise<{
    requests: number
    readUnits: number
    writeUnits: number
    items: number
    refused: number
    operations: Record<string, { requests: number; readUnits: number; writeUnits: number; items: number; refused: number }>
  }>
  /** Keeps an index on each field (`caseInsensitive`: on lower-cased strings), so equality,
   * `$in`, ranges, `^prefix` regexes and sorted pages on it read index entries, not the class.
   * Objects already stored are indexed at once (progress goes to the logger). */
  ensureIndex(className: string, schema: unknown, fieldNames: string[], indexName?: string, caseInsensitive?: boolean): Promise<void>
  /** MongoDB-style `[{ key: { field: 1 } }]`: one key is a single-field index as with
   * `ensureIndex`; two or more a compound index (equality on the first, order or range on the
   * second); text indexes are not kept. */
  createIndexes(className: string, indexes: Array<{ key: Record<string, number | string>; name?: string }>): Promise<void>
  /** Parse's `_id_`, the schema's indexes, unique fields, and the indexes the adapter keeps
   * (`<spec>_kept`; `automatic` when it made them for a query, `building` until back-filled). */
  getIndexes(className: string): Promise<Array<{
    name: string
    key: Record<string, unknown>
    unique?: boolean
    caseInsensitive?: boolean
    lookupOnly?: boolean
    automatic?: boolean
    building?: boolean
  }>>
  /** Stops keeping the index on `fieldName` and deletes its entries; resolves whether there was one. */
  dropIndex(className: string, fieldName: string, caseInsensitive?: boolean): Promise<boolean>
  /** A `Partition` on this adapter's table (the old adapter's `_adaptiveCollection`). */
  _adaptiveCollection(className: string): Partition
  // The storage-adapter methods Parse Server calls (classExists, find, createObject, …).
  [method: string]: any
}

export interface FindOptions {
  skip?: number
  limit?: number
  sort?: Record<string, 1 | -1>
  keys?: string[]
  /** `'SECONDARY'`, `'SECONDARY_PREFERRED'` or `'NEAREST'`: eventually consistent (half the units). */
  readPreference?: string
}

/** One class of the table, with a Mongo-style API: `_id` is the objectId. */
export declare class Partition {
  constructor(table: string, className: string, service: unknown)
  insertOne(object: Record<string, any>): Promise<{ insertedId: string }>
  find(query?: Record<string, any>, options?: FindOptions): Promise<Record<string, any>[]>
  count(query?: Record<string, any>): Promise<number>
  /** `update`: `$set`, `$unset`, `$inc`, `$push`, `$addToSet`, `$pull`, or plain fields. Resolves to the updated object (null if none matched). */
  updateOne(query: Record<string, any>, update: Record<string, any>): Promise<Record<string, any> | null>
  upsertOne(query: Record<string, any>, update: Record<string, any>): Promise<void>
  updateMany(query: Record<string, any>, update: Record<string, any>): Promise<{ matchedCount: number; modifiedCount: number }>
  deleteOne(query: Record<string, any>): Promise<{ deletedCount: number }>
  deleteMany(query?: Record<string, any>): Promise<{ deletedCount: number }>
}

export declare class DynamoDB {
  constructor(table: string, options?: DynamoDBOptions)
  readonly table: string
  readonly adapter: DynamoStorageAdapter
  readonly service: unknown
  /** `new dynamo.Partition(table, className, dynamo.adapter.service)`. */
  readonly Partition: new (table: string, className: string, service?: unknown) => Partition
  /** The same adapter instance on every call. */
  getAdapter(): DynamoStorageAdapter
  /** LiveQuery across servers through the table's stream, without Redis: pass it as Parse's
   * `pubSubAdapter` (in `liveQuery: {…}` and in `ParseServer.createLiveQueryServer`). */
  liveQueryAdapter(): { createPublisher(): { publish(channel: string, message: string): Promise<void> }; createSubscriber(): any }
  /** Request de-duplication as Parse's `idempotencyOptions` (which Parse Server applies only to
   * its own adapters): an Express middleware to mount before Parse Server,
   * `app.use('/parse', dynamo.idempotency({ paths: ['functions/.*', 'classes/.*'], ttl: 300 }), server.app)`.
   * A repeated request id within `ttl` seconds is answered `400 {code: 159, error: 'Duplicate request'}`. */
  idempotency(options?: { paths?: string[]; ttl?: number; maxUploadSize?: string }): (req: any, res: any, next: (err?: unknown) => void) => void
  /** What DynamoDB billed since this server started, per Parse route, class and Cloud function
   * or job, ranked by dollars a month at on-demand prices. */
  costReport(options?: { region?: string; prices?: { readPerMillion?: number; writePerMillion?: number }; top?: number }): Promise<CostReport>
}

export interface CostReport {
  seconds: number
  readUnits: number
  writeUnits: number
  dollarsPerMonth: number
  prices: { region: string; readPerMillion: number; writePerMillion: number; source: string; hoursPerMonth: number }
  servers: number
  since: number | null
  rows: Array<{
    route: string
    class: string | null
    function: string | null
    requests: number
    calls: number
    dynamoRequests: number
    readUnits: number
    writeUnits: number
    readUnitsPerRequest: number
    writeUnitsPerRequest: number
    dollarsPerMonth: number
  }>
}
