/** The terminal adapter's door: `deckhand chat` turns each typed line into an event and prints replies. */
export { TerminalSink, terminalEvent } from './adapter.js';
