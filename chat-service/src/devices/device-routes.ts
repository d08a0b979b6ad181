import { ChatError, Errors, optString, reqEnum, reqString, type Obj } from '@chat/protocol';
import { readJson, sendJson } from '../http/http-utils.js';
import { parseWith } from '../http/request-parsers.js';
import type { RouteContext, Router } from '../http/router.js';
import { DEVICE_ID_PATTERN, DEVICE_TOKEN_PATTERN, PLATFORMS } from './device.js';
import type { DeviceService, Registration } from './device-service.js';

const MAX_REGISTRATION_BYTES = 8192;

type Authed = (handler: (ctx: RouteContext, userId: string) => Promise<void>) => (ctx: RouteContext) => Promise<void>;

/** Body of POST /v1/devices. */
export function parseRegistration(o: Obj): Registration {
  const token = reqString(o, 'token', 4096, DEVICE_TOKEN_PATTERN);
  const platform = reqEnum(o, 'platform', PLATFORMS);
  const replaces = optString(o, 'replaces', 32, DEVICE_ID_PATTERN);
  return { token, platform, ...(replaces !== undefined ? { replaces } : {}) };
}

function deviceIdParam(raw: string | undefined): string {
  if (raw === undefined || !DEVICE_ID_PATTERN.test(raw)) throw new ChatError(Errors.NOT_FOUND, 'no such device');
  return raw;
}

/** Push device endpoints of the public REST API. `authed` is the public API's authentication and rate limiting. */
export function registerDeviceRoutes(router: Router, authed: Authed, devices: DeviceService): void {
  router.on(
    'POST',
    '/v1/devices',
    authed(async ({ req, res }, userId) => {
      const registration = parseWith(await readJson(req, MAX_REGISTRATION_BYTES), parseRegistration);
      sendJson(res, 200, { device: await devices.register(userId, registration) });
    }),
  );
  router.on(
    'GET',
    '/v1/devices',
    authed(async ({ res }, userId) => sendJson(res, 200, { devices: await devices.list(userId) })),
  );
  router.on(
    'DELETE',
    '/v1/devices/:id',
    authed(async ({ res, params }, userId) => {
      await devices.remove(userId, deviceIdParam(params.id));
      sendJson(res, 200, { ok: true });
    }),
  );
}
