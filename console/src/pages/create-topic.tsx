/** Create a topic (POST /v1/topics): name, partitions, retention; the server's checks decide. */

import { useState } from 'preact/hooks';
import { api, describeFailure } from '../api.ts';
import { InputField } from '../fields.tsx';
import { hrefs } from '../route.ts';

export function CreateTopicPage() {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('3');
  const [retentionHours, setRetentionHours] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    const config: Record<string, number> = {};
    if (retentionHours !== '') {
      const hours = Number(retentionHours);
      config['retention.ms'] = hours === -1 ? -1 : Math.round(hours * 3_600_000);
    }
    try {
      const created = await api.createTopic(name.trim(), Number(partitions), config);
      location.hash = hrefs.topic(created.name);
    } catch (failure) {
      setError(describeFailure(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Create a topic</h1>
      <form onSubmit={submit} aria-describedby={error === undefined ? undefined : 'create-error'}>
        <InputField
          name="name"
          label="Topic name"
          help="1–249 characters: letters, digits, dot, underscore, hyphen."
          required
          maxLength={249}
          pattern="[A-Za-z0-9._\-]+"
          placeholder="orders"
          value={name}
          onValue={setName}
        />
        <div class="grid-form">
          <InputField
            name="partitions"
            label="Partitions"
            type="number"
            required
            min={1}
            max={256}
            value={partitions}
            onValue={setPartitions}
          />
          <InputField
            name="retention"
            label="Retention (hours, empty for the default of 7 days; −1 keeps forever)"
            type="number"
            min={-1}
            step="any"
            value={retentionHours}
            onValue={setRetentionHours}
          />
        </div>
        {error !== undefined && (
          <p id="create-error" role="alert" class="notice-error">
            {error}
          </p>
        )}
        <button type="submit" aria-busy={busy} disabled={busy}>
          Create topic
        </button>
      </form>
    </>
  );
}
