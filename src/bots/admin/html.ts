/** HTML escaping for the admin page: everything from the store is text, never markup. */
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** A minimal page shell with the admin stylesheet inlined (no external assets). */
export function pageShell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head><body>${body}</body></html>`;
}

const STYLE = `
body{font-family:system-ui,-apple-system,sans-serif;margin:0;background:#f5f6fa;color:#223}
header{background:#1f2a44;color:#fff;padding:12px 24px;display:flex;align-items:center;justify-content:space-between}
header h1{font-size:18px;margin:0}header form{margin:0}
header a{color:#fff;margin:0 8px}
form.filters{display:flex;gap:12px;flex-wrap:wrap;align-items:center;margin:0 0 12px;font-size:13px}
form.filters input,form.filters select{padding:4px 6px}
td.target{word-break:break-word;max-width:420px}
.s-allowed{background:#2e9d5b}.s-denied{background:#d24b4b}
main{padding:16px 24px;max-width:1200px;margin:0 auto}
section{background:#fff;border-radius:8px;box-shadow:0 1px 2px #0002;padding:12px 16px;margin:0 0 16px}
h2{font-size:15px;margin:0 0 8px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 2px #0002;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:22px}.card span{font-size:12px;color:#667}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
table{border-collapse:collapse;width:100%;font-size:12px}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eef;vertical-align:top}
th{color:#556;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 6px;border-radius:9px;font-size:11px;color:#fff}
.s-queued{background:#8a94a6}.s-running{background:#2f6fd6}.s-succeeded{background:#2e9d5b}
.s-failed{background:#d24b4b}.s-cancelled{background:#b08a2e}.s-timeout{background:#c77a1e}
.s-killed,.s-error{background:#7a3b9e}
.muted{color:#778}.err{color:#a33}
form.login{max-width:360px;margin:80px auto;background:#fff;padding:24px;border-radius:8px;box-shadow:0 1px 3px #0003}
form.login input{width:100%;padding:8px;margin:8px 0 12px;box-sizing:border-box}
button{padding:6px 14px;border:0;border-radius:4px;background:#2f6fd6;color:#fff;cursor:pointer}
`;
