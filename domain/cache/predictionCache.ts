import { sha256Hex } from '../../common/canonical';

/**
 * Predictions cached by (model version, input hash, inference params hash). The key is
 * versioned and holds no secrets; errors are never cached. An entry is shared across
 * runs and datasets, and expires with the retention of the dataset that wrote it.
 */
const KEY_VERSION = 'p1';

export const predictionCacheKey = (modelVersionId: string, inputHash: string, paramsHash: string) =>
  sha256Hex(`${KEY_VERSION}:${modelVersionId}:${inputHash}:${paramsHash}`);
