/**
 * A push-to-pull text queue: the orchestrator pushes deltas (model text, tool notices) as they happen
 * and streamReply pulls them, so a whole turn shows as one message edited in place.
 */
export class TextChannel implements AsyncIterable<string> {
  private readonly queue: string[] = [];
  private waiting: ((result: IteratorResult<string>) => void) | undefined;
  private closed = false;
  private text = '';

  /** Everything pushed so far: what the user has been (or is about to be) shown. */
  get written(): string {
    return this.text;
  }

  push(chunk: string): void {
    if (this.closed || chunk === '') return;
    this.text += chunk;
    const waiter = this.waiting;
    if (waiter) {
      this.waiting = undefined;
      waiter({ value: chunk, done: false });
    } else {
      this.queue.push(chunk);
    }
  }

  /** Starts a new paragraph unless the text is empty or already ends with one. */
  paragraph(chunk: string): void {
    const sep =
      this.text === '' || this.text.endsWith('\n\n') ? '' : this.text.endsWith('\n') ? '\n' : '\n\n';
    this.push(sep + chunk);
  }

  close(): void {
    this.closed = true;
    const waiter = this.waiting;
    this.waiting = undefined;
    waiter?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return {
      next: () => {
        const chunk = this.queue.shift();
        if (chunk !== undefined) return Promise.resolve({ value: chunk, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiting = resolve;
        });
      },
    };
  }
}
