/**
 * Reading a sandbox's output: Docker's multiplexed attach stream (8-byte frame headers) split into
 * stdout and stderr, each kept up to a byte limit while the rest is read and dropped (so a program
 * printing 100 MB neither fills memory nor blocks on a full pipe), and the waiter's end-of-run line
 * (see payload.ts) found and cut off.
 */

export const STDOUT = 1;
export const STDERR = 2;

/** Appended to a stream cut at the limit. */
export function truncationNote(limit: number): string {
  return `\n[output truncated at ${limit} bytes]`;
}

export interface EndMarker {
  exitCode: number;
  oomKills: number;
  /** The work folder or /tmp was (nearly) full when the program ended: it met the disk limit. */
  diskFull: boolean;
}

/** One output stream: a bounded copy of its bytes and the position of the nonce line, if seen. */
export class StreamCapture {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private total = 0;
  /** The last bytes seen, so a nonce split across two chunks is still found. */
  private tail: Buffer = Buffer.alloc(0);
  private markerAt = -1;
  private markerLine = '';
  marker: EndMarker | undefined;

  constructor(
    private readonly limit: number,
    private readonly nonce: Buffer,
  ) {}

  push(data: Buffer): void {
    if (this.marker) return; // after the end line: only leftovers of background processes
    const offset = this.total;
    this.total += data.length;
    const room = this.limit + this.nonce.length + 64 - this.keptBytes;
    if (room > 0) {
      const piece = data.length <= room ? data : data.subarray(0, room);
      this.kept.push(piece);
      this.keptBytes += piece.length;
    }
    if (this.markerAt < 0) {
      const window = Buffer.concat([this.tail, data]);
      const at = window.indexOf(this.nonce);
      if (at >= 0) {
        this.markerAt = offset - this.tail.length + at;
        this.markerLine = window.subarray(at + this.nonce.length).toString('latin1');
      } else {
        this.tail = window.subarray(Math.max(0, window.length - this.nonce.length + 1));
      }
    } else {
      this.markerLine += data.toString('latin1');
    }
    if (this.markerAt >= 0) this.parseMarker();
  }

  private parseMarker(): void {
    const end = this.markerLine.indexOf('\n');
    if (end < 0) {
      if (this.markerLine.length > 64) this.markerAt = -1; // not ours after all; keep looking
      return;
    }
    const match = /^ (\d+) (\d+)(?: ([01]))?$/.exec(this.markerLine.slice(0, end));
    if (match) {
      this.marker = { exitCode: Number(match[1]), oomKills: Number(match[2]), diskFull: match[3] === '1' };
    } else {
      this.markerAt = -1;
      this.markerLine = '';
    }
  }

  /** The program's bytes (without the end line), cut at the limit on a UTF-8 character boundary. */
  result(): { text: string; truncated: boolean; bytes: number } {
    const bytes = this.marker ? this.markerAt : this.total;
    const all = Buffer.concat(this.kept, Math.min(this.keptBytes, bytes));
    if (bytes <= this.limit) return { text: all.toString('utf8'), truncated: false, bytes };
    let cut = this.limit;
    // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split in half.
    while (cut > 0 && cut > this.limit - 4 && ((all[cut] ?? 0) & 0xc0) === 0x80) cut--;
    return {
      text: all.subarray(0, cut).toString('utf8') + truncationNote(this.limit),
      truncated: true,
      bytes,
    };
  }
}

/** Splits Docker's multiplexed stream (non-TTY attach): [type, 0, 0, 0, size32be] + payload. */
export class FrameSplitter {
  private header = Buffer.alloc(0);
  private remaining = 0;
  private stream = 0;

  constructor(private readonly onFrame: (stream: number, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      if (this.remaining === 0) {
        const need = 8 - this.header.length;
        this.header = Buffer.concat([this.header, data.subarray(0, need)]);
        data = data.subarray(need);
        if (this.header.length < 8) return;
        this.stream = this.header[0] ?? 0;
        this.remaining = this.header.readUInt32BE(4);
        this.header = Buffer.alloc(0);
        continue;
      }
      const piece = data.subarray(0, this.remaining);
      this.remaining -= piece.length;
      data = data.subarray(piece.length);
      this.onFrame(this.stream, piece);
    }
  }
}

/** stdout + stderr of one run. Complete when both streams carried the end line. */
export class RunOutput {
  readonly stdout: StreamCapture;
  readonly stderr: StreamCapture;
  private readonly splitter: FrameSplitter;

  constructor(limit: number, nonce: string) {
    const needle = Buffer.from(nonce, 'latin1');
    this.stdout = new StreamCapture(limit, needle);
    this.stderr = new StreamCapture(limit, needle);
    this.splitter = new FrameSplitter((stream, data) => {
      if (stream === STDOUT) this.stdout.push(data);
      else if (stream === STDERR) this.stderr.push(data);
    });
  }

  push(chunk: Buffer): void {
    this.splitter.push(chunk);
  }

  get complete(): boolean {
    return this.stdout.marker !== undefined && this.stderr.marker !== undefined;
  }

  get marker(): EndMarker | undefined {
    return this.stdout.marker ?? this.stderr.marker;
  }
}
