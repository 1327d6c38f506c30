/** The terminal adapter's door: `deckhand chat` turns each typed line into an event and prints replies. */
export { createTerminalAdapter, TerminalSink, terminalEvent } from './adapter.js';
