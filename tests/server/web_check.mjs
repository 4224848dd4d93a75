// The web chat page in a real browser: headless Chromium (Debian's) driven by playwright-core
// (installed at test time into --npm) loads /, sends a message, and the streamed answer must equal
// what the API answers non-streamed for the same conversation at temperature 0; Stop ends a long
// answer early; New chat clears the page. No console errors (the page's CSP allows only its own
// origin). Writes a screenshot of the answer to --work/web_chat.png.
//
//   node web_check.mjs --bin BUILD --model MODEL.gguf --npm DIR --chromium /usr/bin/chromium --work DIR
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const require = createRequire(path.resolve(args.npm, 'package.json'));
const { chromium } = require('playwright-core');
fs.mkdirSync(args.work, { recursive: true });

// The server on a free port; resolves with its URL once it is ready.
function startServer() {
  const proc = spawn(path.resolve(args.bin, 'smallthinker-server'),
                     ['-m', path.resolve(args.model), '--port', '0', '-c', '1024', '-t', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server not ready: ' + log)), 30000);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on (http:\/\/[\d.]+:\d+)/);
      if (m && log.includes('ready:')) {
        clearTimeout(timer);
        resolve({ proc, url: m[1] });
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited ${code}: ${log}`)));
  });
}

const { proc, url } = await startServer();
const browser = await chromium.launch({ executablePath: args.chromium, args: ['--no-sandbox', '--disable-gpu'] });
let code = 0;
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(url + '/');
  await page.waitForFunction(() => document.getElementById('model').textContent !== 'connecting…');
  assert.equal(await page.textContent('#model'), 'tinystories-smallthinker');

  // A message, answered at temperature 0, equals the API's non-streamed answer.
  await page.click('#settings summary');  // as a user would: open Settings
  await page.fill('#temperature', '0');
  await page.fill('#max-tokens', '60');
  const question = 'tell me a story about a cat.';
  await page.fill('#input', question);
  await page.press('#input', 'Enter');
  await page.waitForSelector('.msg.assistant:not(.streaming) .stats', { timeout: 30000 });
  const shown = await page.textContent('.msg.assistant .text');
  const res = await fetch(url + '/v1/chat/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: question }], temperature: 0, max_tokens: 60 }),
  });
  const want = (await res.json()).choices[0].message.content;
  assert.ok(shown.length > 10, `the answer: '${shown}'`);
  assert.equal(shown, want);
  await page.screenshot({ path: path.join(args.work, 'web_chat.png') });
  console.log(`ok   streamed answer shown (${shown.length} characters), screenshot ${path.join(args.work, 'web_chat.png')}`);

  // Stop: a long answer ends early and the page takes the next message. The tiny model answers
  // in a blink, so this answer is made long (ignore_eos added to the page's request) and slow to
  // arrive (the browser's download throttled to 4 KB/s, about 15 chunks a second).
  await page.route('**/v1/chat/completions', (route) => {
    const body = JSON.parse(route.request().postData());
    route.continue({ postData: JSON.stringify({ ...body, ignore_eos: true }) });
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 4000,
                                                       uploadThroughput: 1e6 });
  await page.fill('#max-tokens', '900');
  await page.fill('#input', 'and then?');
  await page.press('#input', 'Enter');
  await page.waitForFunction(() => {
    const all = document.querySelectorAll('.msg.assistant .text');
    return all.length === 2 && all[1].textContent.length > 0;
  });
  await page.click('#stop');
  await page.waitForSelector('.msg.assistant:nth-of-type(4) .stats');
  assert.equal(await page.getAttribute('.msg.assistant:nth-of-type(4)', 'data-finish'), 'stopped');
  assert.equal(await page.isDisabled('#send'), false);
  console.log('ok   stop ends a long answer');

  await page.click('#new-chat');
  assert.equal(await page.locator('.msg').count(), 0);
  console.log('ok   new chat clears the conversation');
  assert.deepEqual(problems, []);
  console.log('ok   no console errors');
} catch (e) {
  console.log('FAIL ' + (e.stack || e));
  code = 1;
} finally {
  await browser.close();
  proc.kill('SIGTERM');
}
process.exit(code);
