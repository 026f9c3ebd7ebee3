/**
 * SaslHandshake and SaslAuthenticate: SASL/PLAIN (RFC 4616) with the server token as password, any
 * user name. A listener without a token accepts any password, so clients configured for SASL work
 * against a local server. A refused mechanism or password closes the connection after its response,
 * as Kafka does; SaslHandshake v0's bare-token exchange is the listener's (listener.ts).
 */
import { KafkaError } from '../errors.ts';
import { handler } from '../handler.ts';
import { verifyPlain } from '../listener.ts';
import { SaslAuthenticate, SaslHandshake } from '../protocol/messages.ts';

const PLAIN = 'PLAIN';

export const saslHandshake = handler(SaslHandshake, async (request, _context, { version, connection }) => {
  if (request.mechanism !== PLAIN) {
    connection.closeAfterResponse = true;
    return { errorCode: KafkaError.UNSUPPORTED_SASL_MECHANISM, mechanisms: [PLAIN] };
  }
  connection.saslMechanism = PLAIN;
  if (version === 0) connection.rawSaslNext = true;
  return { errorCode: KafkaError.NONE, mechanisms: [PLAIN] };
});

export const saslAuthenticate = handler(SaslAuthenticate, async (request, context, { connection }) => {
  const mechanism = connection.saslMechanism;
  connection.saslMechanism = undefined;
  if (mechanism !== PLAIN) {
    connection.closeAfterResponse = true;
    return {
      errorCode: KafkaError.ILLEGAL_SASL_STATE,
      errorMessage: 'SaslAuthenticate before a SaslHandshake chose PLAIN',
    };
  }
  if (!verifyPlain(request.authBytes, context.token)) {
    connection.closeAfterResponse = true;
    context.log.warn('kafka: SASL/PLAIN authentication failed', { connection: connection.id });
    return {
      errorCode: KafkaError.SASL_AUTHENTICATION_FAILED,
      errorMessage: 'Authentication failed: invalid username or password (the password is the server token)',
    };
  }
  connection.authenticated = true;
  return { errorCode: KafkaError.NONE, errorMessage: null, sessionLifetimeMs: 0 };
});
