// ESM entry: the same API as index.js (`import { DynamoDB } from 'parse-server-dynamodb'`).
import shim from './index.js';

export const { DynamoDB, DynamoStorageAdapter, Partition } = shim;
export default shim;
