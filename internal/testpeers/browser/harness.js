// Browser far end for Parlo's tests: one headless Chromium (Debian's, driven
// by playwright-core over CDP), one page per peer, served from 127.0.0.1.
// Go talks to it in JSON lines: commands on stdin
//   {"id":1,"op":"newPage","peer":"a","flavour":"sipjs"}
//   {"id":2,"op":"call","peer":"a","method":"register","args":[{...}]}
// replies and events on stdout
//   {"id":1,"ok":true,"result":...}   {"event":"...","peer":"a",...}
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

const bundleDir = process.env.PARLO_BROWSER_BUNDLES;
const exe = process.env.PARLO_CHROMIUM || '/usr/bin/chromium';
const userDataDir = process.env.PARLO_BROWSER_PROFILE;

function out(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

const files = {
  '/sipjs.js': path.join(bundleDir, 'sipjs-peer.js'),
  '/wazo.js': path.join(bundleDir, 'wazo-peer.js'),
  '/wazo-sdk.js': path.join(bundleDir, 'wazo-sdk.js'),
};

const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/') {
    const fl = u.searchParams.get('flavour') === 'wazo' ? 'wazo' : 'sipjs';
    const scripts = fl === 'wazo'
      ? '<script src="/wazo-sdk.js"></script><script src="/wazo.js"></script>'
      : '<script src="/sipjs.js"></script>';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><html><body><video id="v" autoplay muted playsinline></video>' +
      '<audio id="a" autoplay></audio>' + scripts + '</body></html>');
    return;
  }
  const f = files[u.pathname];
  if (!f || !fs.existsSync(f)) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': 'text/javascript' });
  fs.createReadStream(f).pipe(res);
});

async function main() {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = 'http://127.0.0.1:' + server.address().port + '/';
  const args = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--ignore-certificate-errors',
    '--autoplay-policy=no-user-gesture-required',
  ];
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: exe, headless: true, args, ignoreHTTPSErrors: true,
  });
  const pages = new Map();
  out({ event: 'ready', base, version: ctx.browser() ? ctx.browser().version() : '' });

  async function handle(cmd) {
    switch (cmd.op) {
      case 'newPage': {
        const page = await ctx.newPage();
        page.on('console', (m) => out({ event: 'console', peer: cmd.peer, text: m.text() }));
        page.on('pageerror', (e) => out({ event: 'pageerror', peer: cmd.peer, text: String(e) }));
        await page.exposeFunction('parloReport', (ev) => out(Object.assign({ peer: cmd.peer }, ev)));
        await page.goto(base + '?flavour=' + encodeURIComponent(cmd.flavour));
        await page.waitForFunction(() => !!window.peer);
        pages.set(cmd.peer, page);
        return null;
      }
      case 'call': {
        const page = pages.get(cmd.peer);
        if (!page) throw new Error('no page ' + cmd.peer);
        return await page.evaluate(([m, a]) => window.peer[m](...a), [cmd.method, cmd.args || []]);
      }
      case 'closePage': {
        const page = pages.get(cmd.peer);
        if (page) { pages.delete(cmd.peer); await page.close(); }
        return null;
      }
      default:
        throw new Error('unknown op ' + cmd.op);
    }
  }

  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let cmd;
    try { cmd = JSON.parse(line); } catch (e) { out({ event: 'badcommand', text: String(e) }); return; }
    handle(cmd).then(
      (result) => out({ id: cmd.id, ok: true, result: result === undefined ? null : result }),
      (err) => out({ id: cmd.id, ok: false, error: String(err && err.stack || err) }));
  });
  // stdin closing is how Go says "stop".
  rl.on('close', async () => {
    try { await ctx.close(); } catch (e) { /* already gone */ }
    server.close();
    process.exit(0);
  });
}

main().catch((e) => { out({ event: 'fatal', text: String(e && e.stack || e) }); process.exit(1); });
