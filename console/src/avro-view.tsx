/**
 * A key or value of the message browser in Confluent's wire format (avro.ts), decoded with its
 * writer's schema from the registry and shown as pretty JSON. Anything else, an unknown schema id or
 * bytes the schema cannot read, is shown by `children` (the browser's own view), with a note why.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, describeFailure } from './api.ts';
import { avroJson, decodeAvro, parseWireFormat } from './avro.ts';
import { base64ToBytes } from './decode.ts';
import { writerSchema } from './registry.ts';

type Shown =
  | { state: 'plain' }
  | { state: 'loading'; schemaId: number }
  | { state: 'decoded'; schemaId: number; subjects: string[]; text: string }
  | { state: 'failed'; schemaId: number; why: string };

function wire(base64: string | null | undefined) {
  return base64 === null || base64 === undefined ? undefined : parseWireFormat(base64ToBytes(base64));
}

export function AvroOrBytes({
  base64,
  children,
}: {
  base64: string | null | undefined;
  children: ComponentChildren;
}) {
  const [shown, setShown] = useState<Shown>(() => {
    const found = wire(base64);
    return found === undefined ? { state: 'plain' } : { state: 'loading', schemaId: found.schemaId };
  });
  useEffect(() => {
    const found = wire(base64);
    if (found === undefined) return;
    let current = true;
    writerSchema(found.schemaId).then(
      (writer) => {
        if (!current) return;
        try {
          const text = avroJson(decodeAvro(writer.type, found.body));
          setShown({ state: 'decoded', schemaId: found.schemaId, subjects: writer.subjects, text });
        } catch (error) {
          setShown({
            state: 'failed',
            schemaId: found.schemaId,
            why: `it does not decode with that schema: ${(error as Error).message}`,
          });
        }
      },
      (error: unknown) => {
        if (!current) return;
        const unknown = error instanceof ApiError && error.status === 404;
        setShown({
          state: 'failed',
          schemaId: found.schemaId,
          why: unknown
            ? 'the registry has no schema with that id'
            : `its schema could not be read: ${describeFailure(error)}`,
        });
      },
    );
    return () => {
      current = false;
    };
  }, [base64]);

  if (shown.state === 'plain') return <>{children}</>;
  if (shown.state === 'decoded') {
    const subject = shown.subjects.length === 0 ? '' : `, subject ${shown.subjects.join(', ')}`;
    return (
      <>
        <span class="kind" data-avro-schema-id={shown.schemaId}>
          Avro (schema id {shown.schemaId}
          {subject})
        </span>
        <pre class="value">{shown.text}</pre>
      </>
    );
  }
  return (
    <>
      <div class="kind" data-avro-note>
        {shown.state === 'loading'
          ? `Avro wire format, schema id ${shown.schemaId}: reading the schema…`
          : `Avro wire format, schema id ${shown.schemaId}, shown as bytes: ${shown.why}.`}
      </div>
      {children}
    </>
  );
}
