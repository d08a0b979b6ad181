import { ChatError, Errors } from '@chat/protocol';
import { describe, expect, it } from 'vitest';
import { parseTyping } from './validate-request.js';

describe('parseTyping', () => {
  it('item 2: accepts only canonical conversation ids', () => {
    expect(parseTyping({ user_id: 'a', conversation_id: '42', state: 'start' }).conversation_id).toBe('42');
    for (const conversation_id of ['042', '0', (42n + (1n << 64n)).toString(), '9223372036854775808', 42]) {
      expect(() => parseTyping({ user_id: 'a', conversation_id, state: 'start' })).toThrow(ChatError);
      try {
        parseTyping({ user_id: 'a', conversation_id, state: 'start' });
      } catch (err) {
        expect((err as ChatError).def).toBe(Errors.INVALID_SHAPE);
      }
    }
  });
});
