/** The wire contract clients and servers share: frames, their validators, error and close codes, id forms. */
export * from './frames.js';
export * from './parse-client-frame.js';
export * from './validate.js';
export * from './canonical-id.js';
export * from './errors.js';
export * from './utf8.js';
export * from './attachments.js';
export * from './message-attachments.js';
export * from './inbox.js';
