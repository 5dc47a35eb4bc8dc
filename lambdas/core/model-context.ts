import { parseBedrockModelId } from './pricing.js';

/**
 * Context windows in tokens per Claude model family (Anthropic's models
 * overview, as of 2026-10): the standard window every request gets. The
 * 1M-token windows some Sonnet models offer need a beta header on the
 * Anthropic API or a `…:1m` id on Bedrock; Chaperone sends neither (and the
 * price tables know no `:1m` id), so they are not counted. A model id matches
 * the longest key it starts with, as in the price table; a Bedrock id is
 * looked up by its foundation model without the `anthropic.` vendor prefix.
 */
export const CONTEXT_TABLE: Readonly<Record<string, number>> = {
  'claude-opus-4-1': 200_000,
  'claude-opus-4': 200_000,
  'claude-opus-4-5': 200_000,
  'claude-sonnet-4-6': 200_000,
  'claude-sonnet-4-5': 200_000,
  'claude-sonnet-4': 200_000,
  'claude-3-7-sonnet': 200_000,
  'claude-haiku-4-5': 200_000,
  'claude-3-5-haiku': 200_000,
  'claude-3-haiku': 200_000,
};

/**
 * The context assumed for a model the table does not know: the smallest in
 * the table, so a window sized from it folds early rather than overflows.
 */
export const FALLBACK_CONTEXT_TOKENS = Math.min(...Object.values(CONTEXT_TABLE));

/** A model's context window, and whether it came from the table or the fallback. */
export interface ModelContext {
  tokens: number;
  from: 'table' | 'fallback';
}

/**
 * The context window of a model id on a provider: the longest
 * {@link CONTEXT_TABLE} key the id (a Bedrock id: its foundation model after
 * `anthropic.`) starts with, else {@link FALLBACK_CONTEXT_TOKENS}.
 */
export function contextOf(
  model: string,
  provider: 'anthropic' | 'bedrock' = 'anthropic',
  table: Readonly<Record<string, number>> = CONTEXT_TABLE,
): ModelContext {
  const id =
    provider === 'bedrock' ? parseBedrockModelId(model).foundationModel.replace(/^anthropic\./, '') : model;
  let best: string | undefined;
  for (const key of Object.keys(table))
    if (id.startsWith(key) && (best === undefined || key.length > best.length)) best = key;
  const tokens = best === undefined ? undefined : table[best];
  return tokens === undefined
    ? { tokens: Math.min(...Object.values(table)), from: 'fallback' }
    : { tokens, from: 'table' };
}
