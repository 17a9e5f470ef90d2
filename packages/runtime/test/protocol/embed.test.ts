/**
 * The canvas part of a message's embed (shared/celery-protocol.md §1.4): signatures in `callbacks`, `errbacks`,
 * `chain` and `chord`, decoded with Celery's defaults and refused, naming the field, when malformed.
 */
import { describe, expect, it } from 'vitest';
import { decodeTaskMessage, MalformedMessageError, type InboundMessage } from '../../src';

function withEmbed(embed: unknown): InboundMessage {
  return {
    headers: { task: 'spec.add', id: 'embed-1' },
    properties: {},
    body: JSON.stringify([[2, 3], {}, embed]),
    contentType: 'application/json',
  };
}

function reason(embed: unknown): string {
  try {
    decodeTaskMessage(withEmbed(embed));
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedMessageError);
    return (err as Error).message;
  }
  throw new Error('expected MalformedMessageError, but the message was decoded');
}

/** As Celery 5.2.6 sends a chain step (captured: `chain(add.s(2, 3), mul.s(4))`). */
const MUL = {
  task: 'spec.mul',
  args: [4],
  kwargs: {},
  options: { task_id: 'step-2', reply_to: 'r-1' },
  subtask_type: null,
  immutable: false,
  chord_size: null,
};

describe('protocol/message: the canvas embed', () => {
  it('decodes chain, callbacks, errbacks and chord signatures as sent, extra fields kept', () => {
    const body = { ...MUL, task: 'spec.tsum', args: [], options: { task_id: 'body-1' } };
    const req = decodeTaskMessage(
      withEmbed({ callbacks: [MUL], errbacks: [{ ...MUL, immutable: true }], chain: [MUL], chord: body }),
    );
    expect(req.embed.chain).toEqual([MUL]);
    expect(req.embed.callbacks).toEqual([MUL]);
    expect(req.embed.errbacks?.[0]?.immutable).toBe(true);
    expect(req.embed.chord).toEqual(body);
  });

  it("fills Celery's defaults for a signature's absent fields", () => {
    const req = decodeTaskMessage(withEmbed({ chain: [{ task: 'spec.mul' }] }));
    expect(req.embed.chain).toEqual([
      { task: 'spec.mul', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false },
    ]);
    expect(decodeTaskMessage(withEmbed({})).embed).toEqual({
      callbacks: null,
      errbacks: null,
      chain: null,
      chord: null,
    });
  });

  it('refuses a malformed signature, naming the field and its place', () => {
    expect(reason({ chain: MUL })).toBe('embed.chain must be a list of signatures');
    expect(reason({ chain: [MUL, 'spec.add'] })).toBe('embed.chain[1] must be a signature (an object)');
    expect(reason({ callbacks: [{ ...MUL, task: '' }] })).toBe(
      'embed.callbacks[0].task must be a non-empty string',
    );
    expect(reason({ errbacks: [{ ...MUL, args: 4 }] })).toBe('embed.errbacks[0].args must be a list');
    expect(reason({ chain: [{ ...MUL, kwargs: [] }] })).toBe('embed.chain[0].kwargs must be an object');
    expect(reason({ chain: [{ ...MUL, options: 'q' }] })).toBe('embed.chain[0].options must be an object');
    expect(reason({ chain: [{ ...MUL, immutable: 'yes' }] })).toBe(
      'embed.chain[0].immutable must be a boolean',
    );
    expect(reason({ chain: [{ ...MUL, subtask_type: 1 }] })).toBe(
      'embed.chain[0].subtask_type must be a string or null',
    );
    expect(reason({ chord: [MUL] })).toBe('embed.chord must be a signature (an object)');
    expect(reason({ chord: { ...MUL, chord_size: -1 } })).toBe(
      'embed.chord.chord_size must be a non-negative integer or null',
    );
    expect(reason([])).toBe('embed must be an object');
  });
});
