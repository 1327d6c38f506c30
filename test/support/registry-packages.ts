/**
 * The one package each registry stand-in (registry-stand-ins.ts) serves, built here byte for byte so
 * the same bytes come out on every machine and every Node version: an npm tarball (a hand-written
 * ustar archive in a gzip of stored deflate blocks, fixed times and owners) with its packument, and
 * a pure-Python wheel (a hand-written zip with METADATA, WHEEL and RECORD) with its PEP 503 simple
 * index. The fixture repositories' lockfile (test/fixtures/repos/node-dep/package-lock.json) records
 * the tarball's integrity, so the bytes must not drift; the stand-ins' self-test checks they do not.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** One file a stand-in serves at a path. */
export interface ServedFile {
  type: string;
  body: Buffer;
}

export const PACKAGE_NAME = 'deckhand-left-pad';
export const PACKAGE_VERSION = '1.0.0';
/** The Python import name of the wheel. */
export const PYTHON_MODULE = 'deckhand_left_pad';

export const NPM_TARBALL_PATH = `/${PACKAGE_NAME}/-/${PACKAGE_NAME}-${PACKAGE_VERSION}.tgz`;
export const WHEEL_NAME = `${PYTHON_MODULE}-${PACKAGE_VERSION}-py3-none-any.whl`;

const NPM_FILES: Record<string, string> = {
  'package.json': `${JSON.stringify(
    {
      name: PACKAGE_NAME,
      version: PACKAGE_VERSION,
      description: 'Pads text on the left.',
      main: 'index.js',
      license: 'MIT',
    },
    null,
    2,
  )}\n`,
  'index.js': [
    "'use strict';",
    '/** Pads `text` on the left with `fill` (a space by default) to `width` characters. */',
    "function leftPad(text, width, fill = ' ') {",
    '  const s = String(text);',
    '  return s.length >= width ? s : fill.repeat(width - s.length) + s;',
    '}',
    'module.exports = { leftPad };',
    '',
  ].join('\n'),
};

const PYTHON_INIT = [
  '"""Pads text on the left (a package served by a Deckhand test stand-in)."""',
  '',
  '',
  'def left_pad(text, width, fill=" "):',
  '    text = str(text)',
  '    return text if len(text) >= width else fill * (width - len(text)) + text',
  '',
].join('\n');

// ---------- npm: tarball and packument ----------

/** npm's own fixed time for tarball entries (1985-10-26T08:15:00Z). */
const TAR_MTIME = 499162500;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(TAR_MTIME, 12), 136, 'ascii');
  header.write('        ', 148, 'ascii'); // the checksum counts itself as spaces
  header.write('0', 156, 'ascii');
  header.write('ustar\0' + '00', 257, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

/** A ustar archive of `files` under `package/`, in the order given. */
function tarOf(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const body = Buffer.from(text, 'utf8');
    parts.push(
      tarHeader(`package/${name}`, body.length),
      body,
      Buffer.alloc((512 - (body.length % 512)) % 512),
    );
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** gzip with stored (uncompressed) deflate blocks: the same bytes whatever zlib Node carries. */
function storedGzip(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])];
  let offset = 0;
  do {
    const block = data.subarray(offset, offset + 65_535);
    const head = Buffer.alloc(5);
    head[0] = offset + 65_535 >= data.length ? 1 : 0; // BFINAL on the last block; BTYPE 00, stored
    head.writeUInt16LE(block.length, 1);
    head.writeUInt16LE(block.length ^ 0xffff, 3);
    parts.push(head, block);
    offset += 65_535;
  } while (offset < data.length);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

export function npmTarball(): Buffer {
  return storedGzip(tarOf(NPM_FILES));
}

/** The `dist` fields npm checks a tarball against: sha512 SRI and the legacy sha1 hex. */
export function npmIntegrity(tarball: Buffer): { integrity: string; shasum: string } {
  return {
    integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
    shasum: createHash('sha1').update(tarball).digest('hex'),
  };
}

/** The packument and the tarball, with `dist.tarball` at `baseUrl` (the stand-in's own URL). */
export function npmRegistryFiles(baseUrl: string): Record<string, ServedFile> {
  const tarball = npmTarball();
  const manifest = JSON.parse(NPM_FILES['package.json'] ?? '{}') as Record<string, unknown>;
  const packument = {
    _id: PACKAGE_NAME,
    name: PACKAGE_NAME,
    'dist-tags': { latest: PACKAGE_VERSION },
    versions: {
      [PACKAGE_VERSION]: {
        ...manifest,
        _id: `${PACKAGE_NAME}@${PACKAGE_VERSION}`,
        dist: { tarball: `${baseUrl.replace(/\/$/, '')}${NPM_TARBALL_PATH}`, ...npmIntegrity(tarball) },
      },
    },
  };
  return {
    [`/${PACKAGE_NAME}`]: { type: 'application/json', body: Buffer.from(JSON.stringify(packument)) },
    [NPM_TARBALL_PATH]: { type: 'application/octet-stream', body: tarball },
  };
}

// ---------- PyPI: wheel and simple index ----------

/** 1980-01-01 00:00 in MS-DOS date/time, zip's earliest. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const DOS_TIME = 0;

/** A zip of `files` (stored, no compression), in the order given. */
function zipOf(files: [string, Buffer][]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, body] of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(body);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(body.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, zip 2.0
    local.copy(central, 6, 4, 30); // the same fields from "version needed" to the name's length
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

function recordHash(body: Buffer): string {
  return `sha256=${createHash('sha256').update(body).digest('base64url')}`;
}

export function pythonWheel(): Buffer {
  const info = `${PYTHON_MODULE}-${PACKAGE_VERSION}.dist-info`;
  const files: [string, Buffer][] = [
    [`${PYTHON_MODULE}/__init__.py`, Buffer.from(PYTHON_INIT)],
    [
      `${info}/METADATA`,
      Buffer.from(
        `Metadata-Version: 2.1\nName: ${PACKAGE_NAME}\nVersion: ${PACKAGE_VERSION}\nSummary: Pads text on the left.\n`,
      ),
    ],
    [
      `${info}/WHEEL`,
      Buffer.from('Wheel-Version: 1.0\nGenerator: deckhand-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'),
    ],
  ];
  const record = [
    ...files.map(([name, body]) => `${name},${recordHash(body)},${body.length}`),
    `${info}/RECORD,,`,
  ];
  files.push([`${info}/RECORD`, Buffer.from(`${record.join('\n')}\n`)]);
  return zipOf(files);
}

/** The PEP 503 simple index (root and project page) and the wheel, linked with its sha256. */
export function pypiFiles(): Record<string, ServedFile> {
  const wheel = pythonWheel();
  const sha256 = createHash('sha256').update(wheel).digest('hex');
  const html = (body: string) => ({
    type: 'text/html',
    body: Buffer.from(`<!DOCTYPE html>\n<html><body>\n${body}\n</body></html>\n`),
  });
  return {
    '/simple/': html(`<a href="/simple/${PACKAGE_NAME}/">${PACKAGE_NAME}</a>`),
    [`/simple/${PACKAGE_NAME}/`]: html(
      `<a href="/packages/${WHEEL_NAME}#sha256=${sha256}">${WHEEL_NAME}</a>`,
    ),
    [`/packages/${WHEEL_NAME}`]: { type: 'application/octet-stream', body: wheel },
  };
}
