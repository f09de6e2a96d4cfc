/**
 * Segment's /v1/batch takes at most 500 KB and 2,500 messages a request (and 32 KB a message).
 * The messages of one delivery always travel in the same request, so a delivery is sent, or
 * retried, as a whole.
 */
export const BATCH_MAX_BYTES = 500 * 1024;
export const BATCH_MAX_MESSAGES = 2_500;
export const MESSAGE_MAX_BYTES = 32 * 1024;

/** Room kept for the envelope around the messages: `{"batch":[…],"sentAt":"…"}`. */
const ENVELOPE_BYTES = 200;

export interface RequestLimits {
  maxBytes: number;
  maxMessages: number;
  maxMessageBytes: number;
}

export const SEGMENT_LIMITS: RequestLimits = {
  maxBytes: BATCH_MAX_BYTES,
  maxMessages: BATCH_MAX_MESSAGES,
  maxMessageBytes: MESSAGE_MAX_BYTES,
};

export interface PackedRequests {
  /** Indices of the deliveries in each request, in order. */
  requests: number[][];
  /** Deliveries with a message no receiver would take (over the per-message limit). */
  oversized: number[];
}

/**
 * Packs deliveries (each a list of serialized messages) into as few requests as the limits allow,
 * keeping their order: the body of each request, with its envelope, stays within maxBytes.
 */
export function packRequests(deliveries: string[][], limits: RequestLimits = SEGMENT_LIMITS): PackedRequests {
  const requests: number[][] = [];
  const oversized: number[] = [];
  let current: number[] = [];
  let bytes = ENVELOPE_BYTES;
  let messages = 0;
  deliveries.forEach((serialized, index) => {
    const sizes = serialized.map((message) => Buffer.byteLength(message));
    if (sizes.some((size) => size > limits.maxMessageBytes)) {
      oversized.push(index);
      return;
    }
    // Each message costs its bytes and a separating comma.
    const size = sizes.reduce((sum, n) => sum + n + 1, 0);
    if (current.length > 0 && (bytes + size > limits.maxBytes || messages + sizes.length > limits.maxMessages)) {
      requests.push(current);
      current = [];
      bytes = ENVELOPE_BYTES;
      messages = 0;
    }
    current.push(index);
    bytes += size;
    messages += sizes.length;
  });
  if (current.length > 0) requests.push(current);
  return { requests, oversized };
}

/** The body of one /v1/batch request from serialized messages. */
export function batchBody(messages: string[], sentAt: Date): string {
  return `{"batch":[${messages.join(',')}],"sentAt":${JSON.stringify(sentAt.toISOString())}}`;
}
