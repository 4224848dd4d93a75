// The server driven by the official `openai` npm client (installed at test time into --npm):
// non-streamed and streamed chat and completions (the streamed text equals the non-streamed one
// at temperature 0), 8 concurrent requests (each equals its answer alone), the error cases as the
// client sees them, and a greedy conversation whose second turn reuses a cached prefix longer than
// the model's sliding window (it must equal a fresh server's answer).
//
//   node openai_client.mjs --url http://127.0.0.1:PORT --key KEY --fresh-url http://127.0.0.1:PORT2 --npm DIR
// Exit 0 when every check passes; prints one line per check.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const require = createRequire(path.resolve(args.npm, 'package.json'));
const OpenAI = require('openai');

const client = new OpenAI({ baseURL: args.url + '/v1', apiKey: args.key, maxRetries: 0 });
const fresh = new OpenAI({ baseURL: args['fresh-url'] + '/v1', apiKey: 'unused', maxRetries: 0 });
const MODEL = 'tinystories';
let failures = 0;

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

async function streamed(stream) {
  let text = '', finish = null, usage = null, role = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    if (c.delta && c.delta.role) role = c.delta.role;
    if (c.delta && c.delta.content) text += c.delta.content;
    if (c.text) text += c.text;
    if (c.finish_reason) finish = c.finish_reason;
  }
  return { text, finish, usage, role, chunks };
}

async function expectError(promise, status, words) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIError, `not an APIError: ${e}`);
    assert.equal(e.status, status, e.message);
    assert.ok(e.message.includes(words), `'${e.message}' lacks '${words}'`);
    return e;
  }
  assert.fail(`expected HTTP ${status}`);
}

const story = [{ role: 'system', content: 'you tell short stories.' },
               { role: 'user', content: 'tell me a story about a dog and a ball.' }];

await check('models.list names the model', async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  assert.ok(list.data[0].id.length > 0);
});

await check('chat: streamed text equals the non-streamed answer at temperature 0', async () => {
  const whole = await client.chat.completions.create({ model: MODEL, messages: story, temperature: 0, max_tokens: 48 });
  const msg = whole.choices[0].message;
  assert.equal(msg.role, 'assistant');
  assert.ok(msg.content.length > 0);
  assert.ok(['stop', 'length'].includes(whole.choices[0].finish_reason));
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
  const s = await streamed(await client.chat.completions.create({
    model: MODEL, messages: story, temperature: 0, max_tokens: 48, stream: true, stream_options: { include_usage: true } }));
  assert.equal(s.text, msg.content);
  assert.equal(s.finish, whole.choices[0].finish_reason);
  assert.equal(s.role, 'assistant');
  assert.equal(s.usage.completion_tokens, whole.usage.completion_tokens);
  assert.ok(s.chunks > 3, 'the answer came in pieces');
});

await check('completions: streamed equals non-streamed; stop strings cut the text', async () => {
  const req = { model: MODEL, prompt: 'once upon a time, there was a', temperature: 0, max_tokens: 40 };
  const whole = await client.completions.create(req);
  const text = whole.choices[0].text;
  assert.ok(text.length > 10);
  const s = await streamed(await client.completions.create({ ...req, stream: true }));
  assert.equal(s.text, text);
  const stop = text.trim().split(' ')[2];
  const cut = await client.completions.create({ ...req, stop: [stop] });
  assert.equal(cut.choices[0].finish_reason, 'stop');
  assert.equal(cut.choices[0].text, text.slice(0, text.indexOf(stop)));
});

await check('logprobs: the chosen token is the most likely at temperature 0', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: story, temperature: 0, max_tokens: 5,
                                                   logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs.content;
  assert.ok(content.length >= 1);
  for (const t of content) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0].logprob, t.logprob);
  }
});

await check('8 concurrent requests: all answer, each as it does alone', async () => {
  const prompts = Array.from({ length: 8 }, (_, i) => [{ role: 'user', content: `tell me a story about animal number ${i}.` }]);
  const alone = [];
  for (const m of prompts) {
    alone.push((await client.chat.completions.create({ model: MODEL, messages: m, temperature: 0, max_tokens: 32 }))
      .choices[0].message.content);
  }
  const together = await Promise.all(prompts.map((m, i) => i % 2
    ? client.chat.completions.create({ model: MODEL, messages: m, temperature: 0, max_tokens: 32 })
        .then((r) => r.choices[0].message.content)
    : client.chat.completions.create({ model: MODEL, messages: m, temperature: 0, max_tokens: 32, stream: true })
        .then(streamed).then((s) => s.text)));
  assert.deepEqual(together, alone);
});

await check('errors: unknown role, bad types, too long a prompt, wrong key', async () => {
  await expectError(client.chat.completions.create({ model: MODEL, messages: [{ role: 'bot', content: 'x' }] }), 400,
                    "role 'bot' is unknown");
  await expectError(client.chat.completions.create({ model: MODEL, messages: story, temperature: 'hot' }), 400,
                    "'temperature' must be a number");
  await expectError(client.chat.completions.create({ model: MODEL, messages: story, max_tokens: 100000 }), 400,
                    'the context holds');
  await expectError(client.completions.create({ model: MODEL, prompt: 'word '.repeat(2000) }), 400, 'the context holds');
  const wrong = new OpenAI({ baseURL: args.url + '/v1', apiKey: 'wrong', maxRetries: 0 });
  const e = await expectError(wrong.models.list(), 401, 'API key');
  assert.ok(e instanceof OpenAI.AuthenticationError);
  // Still healthy.
  const r = await client.chat.completions.create({ model: MODEL, messages: story, temperature: 0, max_tokens: 4 });
  assert.ok(r.choices[0].message.content.length > 0);
});

await check('a cached prefix longer than the sliding window answers as a fresh server does', async () => {
  // Turn 1, then turn 2 repeats it with the answer: the slot holds turn 1 (> 64 tokens, the window).
  const long = 'the little girl named lily went to the park with her mom and her dog. they played with a red ball '
             + 'and ran on the grass. then they sat under a big tree and ate apples. the sun was warm and the birds '
             + 'sang in the sky. lily was very happy and she gave her dog a big hug. her mom smiled at them. ';
  const turn1 = [{ role: 'user', content: long + 'what happened next?' }];
  const a1 = await client.chat.completions.create({ model: MODEL, messages: turn1, temperature: 0, max_tokens: 40 });
  assert.ok(a1.usage.prompt_tokens > 64, `turn 1 has ${a1.usage.prompt_tokens} tokens`);
  const turn2 = [...turn1, { role: 'assistant', content: a1.choices[0].message.content },
                 { role: 'user', content: 'and then?' }];
  const a2 = await client.chat.completions.create({ model: MODEL, messages: turn2, temperature: 0, max_tokens: 40 });
  const cached = a2.usage.prompt_tokens_details.cached_tokens;
  assert.ok(cached > 64, `turn 2 reused ${cached} tokens`);
  const want = await fresh.chat.completions.create({ model: MODEL, messages: turn2, temperature: 0, max_tokens: 40,
                                                     cache_prompt: false });
  assert.equal(want.usage.prompt_tokens_details.cached_tokens, 0);
  assert.equal(a2.choices[0].message.content, want.choices[0].message.content);
  console.log(`     turn 2: ${cached} of ${a2.usage.prompt_tokens} prompt tokens reused (window 64)`);
  // A request that parts from the cached conversation early (a different turn 1) is exact too.
  const other = [{ role: 'user', content: long.replace('red ball', 'blue kite') + 'what happened next?' }];
  const a3 = await client.chat.completions.create({ model: MODEL, messages: other, temperature: 0, max_tokens: 40 });
  const w3 = await fresh.chat.completions.create({ model: MODEL, messages: other, temperature: 0, max_tokens: 40,
                                                   cache_prompt: false });
  assert.equal(w3.usage.prompt_tokens_details.cached_tokens, 0);
  assert.equal(a3.choices[0].message.content, w3.choices[0].message.content);
  console.log(`     parted early: ${a3.usage.prompt_tokens_details.cached_tokens} of ${a3.usage.prompt_tokens} reused`);
});

if (failures) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all openai client checks passed');
