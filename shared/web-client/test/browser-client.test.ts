import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, startSystem, waitFor, type TestSystem } from '@chat/chat-service/testing/system';
import { ChatClient } from '@chat/sdk';
import { loadConfig } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { spawnService, type ServiceProcess } from '@chat/testing/http-fuzz';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
// The built server (dist), as npm start runs it: it serves the compiled browser modules beside it.
import { startWebClientServer, webClientOptionsFromConfig, type RunningWebClientServer } from '@chat/web-client/server';
import { ARTIFACTS_DIR, openBrowser, screenshot, type UserBrowser } from './browser.js';

const PRESENCE_MAIN = fileURLToPath(new URL('../../../presence-service/dist/main.js', import.meta.url));

// Two people in two headless Chromiums use the browser client against the real system: chat-service
// (api, sequencer, inbox writer), presence-service and two gateways on the shared infrastructure.
let sys: TestSystem;
let presence: ServiceProcess;
let web: RunningWebClientServer;
let alice: UserBrowser;
let bob: UserBrowser;
const run = randomBytes(4).toString('hex');
const aliceId = `alice-${run}`;
const bobId = `bob-${run}`;
const shots: string[] = [];

const visible = (page: Page, selector: string, hasText?: string) =>
  page
    .locator(selector, hasText !== undefined ? { hasText } : {})
    .first()
    .waitFor({ state: 'visible', timeout: 60_000 }); // generous: the machine may be loaded by other work

async function signIn(who: UserBrowser, userId: string): Promise<void> {
  // The sign-in form is what matters, not the load event (a loaded machine can hold that back).
  await who.page.goto(web.url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
  await visible(who.page, '[data-testid=user-id]');
  await who.page.fill('[data-testid=user-id]', userId);
  await who.page.click('[data-testid=sign-in]');
  await visible(who.page, '[data-testid=connection][data-state=online]');
}

beforeAll(async () => {
  rmSync(ARTIFACTS_DIR, { recursive: true, force: true }); // this run's screenshots only
  const [presencePort, webPort] = [await freePort(), await freePort()];
  const webOrigin = `http://127.0.0.1:${webPort}`;
  sys = await startSystem(2, {
    roles: 'api,sequencer,inbox',
    env: {
      REDIS_KEY_PREFIX: `web${run}:`,
      PRESENCE_SERVICE_URL: `http://127.0.0.1:${presencePort}`,
      PRESENCE_HTTP_PORT: String(presencePort),
      PRESENCE_OFFLINE_GRACE_MS: '500',
      PRESENCE_FLUSH_MS: '100',
      // A real-time message lost on a loaded machine is noticed (and fetched) within 3 s, not 30.
      DELIVERY_DIGEST_INTERVAL_MS: '3000',
      // Only the client's own origin: the REST API's CORS and the gateways' upgrade check must let it in.
      ALLOWED_ORIGINS: webOrigin,
    },
  });
  presence = await spawnService(PRESENCE_MAIN, sys.env, async () => (await fetch(`http://127.0.0.1:${presencePort}/livez`)).ok, 'presence-service');
  const config = loadConfig({
    ...sys.env,
    WEB_CLIENT_PORT: String(webPort),
    WEB_CLIENT_GATEWAY_URLS: sys.gateways.map((g) => g.url).join(','),
    WEB_CLIENT_API_URL: sys.chatUrl,
  });
  web = await startWebClientServer(webClientOptionsFromConfig(config, createLogger('web-client', 'warn')));
  expect(web.url).toBe(webOrigin);
  [alice, bob] = await Promise.all([openBrowser('alice'), openBrowser('bob')]);
}, 240_000);

afterAll(async () => {
  await Promise.all([alice?.close(), bob?.close()]);
  await web?.close();
  await presence?.stop();
  await sys?.close();
  if (shots.length > 0) console.log(`browser client screenshots (${shots.length}) in ${ARTIFACTS_DIR}`);
});

describe('browser chat client, two users in two Chromiums', () => {
  it('signs in, chats in real time with typing, presence, receipts, unread counts, an attachment and a list ordered by activity, scrolls back, and resumes on another gateway', async () => {
    try {
      await conversation();
    } catch (err) {
      // What each page showed and logged when it failed.
      for (const who of [alice, bob]) {
        shots.push(await screenshot(who, 'failure').catch(() => `(no screenshot of ${who.name})`));
        console.log(`${who.name}'s page:\n  ${who.log.join('\n  ')}`);
      }
      throw err;
    }
  }, 300_000);
});

async function conversation(): Promise<void> {
  await signIn(alice, aliceId);
  await signIn(bob, bobId);
  shots.push(await screenshot(alice, 'signed-in'));

  // Alice starts a direct conversation with Bob and sees him online.
  await alice.page.click('summary');
  await alice.page.fill('[data-testid=new-direct-user]', bobId);
  await alice.page.press('[data-testid=new-direct-user]', 'Enter');
  await visible(alice.page, `[data-testid=conversation-view] h2`, bobId);
  await visible(alice.page, '[data-testid=peer-presence][data-online=true]');
  await visible(alice.page, '[data-testid=conversation] [data-testid=presence][data-online=true]');

  // Her message reaches Bob's list in real time, with an unread count.
  await alice.page.fill('[data-testid=composer]', 'hello bob');
  await alice.page.click('[data-testid=send]');
  await visible(alice.page, '[data-testid=message-body]', 'hello bob');
  await visible(bob.page, `[data-testid=conversation][data-title="${aliceId}"][data-unread="1"]`);
  shots.push(await screenshot(bob, 'unread'));
  expect(await alice.page.getAttribute('[data-testid=message].mine [data-testid=receipt]', 'data-read')).toBe('false');

  // Bob opens it: the unread count goes to 0 and Alice sees her message read.
  await bob.page.click(`[data-testid=conversation][data-title="${aliceId}"]`);
  await visible(bob.page, '[data-testid=message-body]', 'hello bob');
  await visible(bob.page, `[data-testid=conversation][data-title="${aliceId}"][data-unread="0"]`);
  await visible(alice.page, '[data-testid=message].mine [data-testid=receipt][data-read=true]');
  shots.push(await screenshot(alice, 'read-receipt'));

  // Bob types: Alice sees it; his message then replaces the indicator.
  await bob.page.click('[data-testid=composer]');
  await bob.page.keyboard.type('hi alice', { delay: 30 });
  await visible(alice.page, '[data-testid=typing]', `${bobId} is typing`);
  shots.push(await screenshot(alice, 'typing'));
  await bob.page.click('[data-testid=send]');
  await visible(alice.page, '[data-testid=message-body]', 'hi alice');
  await waitFor(async () => (await alice.page.textContent('[data-testid=typing]')) === '', 5_000, 'the typing indicator to go');

  // An attachment: Alice uploads it (straight to the object store), Bob downloads the same bytes.
  const bytes = Buffer.from(`notes for ${bobId}\n`.repeat(50));
  await alice.page.setInputFiles('[data-testid=attach]', { name: 'notes.txt', mimeType: 'text/plain', buffer: bytes });
  await alice.page.fill('[data-testid=composer]', 'see attached');
  await alice.page.click('[data-testid=send]');
  await visible(bob.page, '[data-testid=attachment]', 'notes.txt');
  const download = bob.page.waitForEvent('download', { timeout: 30_000 });
  await bob.page.click('[data-testid=attachment]');
  const file = await download;
  expect(file.suggestedFilename()).toBe('notes.txt');
  expect(readFileSync((await file.path()) as string).equals(bytes)).toBe(true);
  shots.push(await screenshot(bob, 'attachment'));

  // The list is ordered by activity: a new group goes to the top of Bob's list, then the direct one again.
  await alice.page.locator('details.new').evaluate((d) => d.setAttribute('open', ''));
  await alice.page.fill('input[name=title]', `team ${run}`);
  await alice.page.fill('input[name=members]', bobId);
  await alice.page.click('text=Create group');
  await visible(alice.page, '[data-testid=conversation-view] h2', `team ${run}`);
  await alice.page.fill('[data-testid=composer]', 'group hello');
  await alice.page.click('[data-testid=send]');
  await visible(bob.page, `[data-testid=conversation]:first-child[data-title="team ${run}"][data-unread="1"]`);
  shots.push(await screenshot(bob, 'group-on-top'));
  await alice.page.click(`[data-testid=conversation][data-title="${bobId}"]`);
  await alice.page.fill('[data-testid=composer]', 'back here');
  await alice.page.click('[data-testid=send]');
  await visible(bob.page, `[data-testid=conversation]:first-child[data-title="${aliceId}"]`);
  expect(await bob.page.locator('[data-testid=conversation]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-title')))).toEqual([
    aliceId,
    `team ${run}`,
  ]);

  // History scroll-back: 30 more messages (through the SDK), then Bob signs in again and pages back.
  const sender = new ChatClient({ url: sys.gateways[1]!.url, getToken: () => sys.token(aliceId), WebSocketImpl: WebSocket });
  // Refusals it retries by itself (e.g. 4101 on a loaded machine) are reported as errors too; each send is awaited below.
  sender.on('error', () => undefined);
  await sender.connect();
  const conversationId = (await bob.page.getAttribute('[data-testid=conversation-view]', 'data-conversation-id')) as string;
  for (let i = 1; i <= 30; i++) await sender.send(conversationId, `batch ${i}`);
  sender.close();
  await visible(bob.page, '[data-testid=message-body]', 'batch 30');
  await signIn(bob, bobId);
  await bob.page.click(`[data-testid=conversation][data-title="${aliceId}"]`);
  await visible(bob.page, '[data-testid=message-body]', 'batch 30');
  const firstPage = await bob.page.locator('[data-testid=message]').count();
  expect(firstPage).toBe(30);
  await bob.page.click('[data-testid=load-older]');
  await visible(bob.page, '[data-testid=message-body]', 'hello bob');
  expect(await bob.page.locator('[data-testid=message]').count()).toBe(34);
  shots.push(await screenshot(bob, 'history'));

  // The gateway both are on drains: the clients reconnect to the other one and resume.
  await sys.gateways[0]!.stop();
  await visible(alice.page, '[data-testid=connection][data-state=resumed]');
  await visible(bob.page, '[data-testid=connection][data-state=resumed]');
  await bob.page.fill('[data-testid=composer]', 'still here');
  await bob.page.click('[data-testid=send]');
  await visible(alice.page, '[data-testid=message-body]', 'still here');
  shots.push(await screenshot(alice, 'resumed'));

  // Bob leaves: Alice sees him offline.
  await bob.close();
  await visible(alice.page, '[data-testid=peer-presence][data-online=false]');
  shots.push(await screenshot(alice, 'peer-offline'));
}
