/**
 * Streamed tool arguments are JSON text written by a model. Broken JSON is not an exception here: it
 * becomes a value the tool's schema rejects, so the model hears what was wrong and can try again.
 */
export interface UnparseableArguments {
  __unparseable: string;
}

export function parseToolArguments(json: string): unknown {
  if (json.trim() === '') return {};
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return { __unparseable: json } satisfies UnparseableArguments;
  }
}
