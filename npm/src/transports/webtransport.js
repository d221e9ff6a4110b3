// A bidirectional stream of a WebTransport session.

/** A WebTransport bidirectional stream as a {readable, writable} pair. */
export async function webTransport(session) {
  await session.ready;
  const stream = await session.createBidirectionalStream();
  return { readable: stream.readable, writable: stream.writable };
}
