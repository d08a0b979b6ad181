// The fake FCM endpoint in a process of its own, for measurements: in the test's process its HTTP
// work would share the event loop of the in-process chat-service whose latency is measured (FCM
// is remote in production). Plain JavaScript on the compiled fake (notifier/dist).
// IPC: {type:'mode', mode:'healthy'|'5xx'|'hang'} switches its answers; {type:'stats'} replies
// {type:'stats', requests, failures}. Sends {type:'listening', host, port} once it listens.
import { FakeFcm, fcmError, HANG } from '../../dist/dev/fake-fcm.js';

const fake = new FakeFcm();
let mode = 'healthy';
fake.answer = () => {
  if (mode === 'hang') return HANG;
  if (mode === '5xx') return Math.random() < 0.5 ? fcmError(500, 'INTERNAL') : fcmError(503, 'UNAVAILABLE');
  return undefined;
};
const { host, port } = await fake.listen();
process.on('message', (m) => {
  if (m.type === 'mode') mode = m.mode;
  if (m.type === 'stats') process.send({ type: 'stats', requests: fake.pushes.length, failures: fake.pushes.filter((p) => p.status !== 200).length });
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'listening', host, port });
