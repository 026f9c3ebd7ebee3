/**
 * The console's frame: header and navigation, the token prompt, and the page the URL names. A 401 from
 * any call shows the prompt; a token given there is kept for the tab and every page loads again with it.
 */
import { useEffect, useState } from 'preact/hooks';
import { setUnauthorizedListener, storedToken, storeToken } from './api.ts';
import { CreateTopicPage } from './pages/create-topic.tsx';
import { GroupPage } from './pages/group.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { SchemasPage, SubjectPage } from './pages/schemas.tsx';
import { SubscriptionPage } from './pages/subscription.tsx';
import { TopicPage } from './pages/topic.tsx';
import { hrefs, useRoute } from './route.ts';

type Auth = 'unknown' | 'needed' | 'refused';

export function App() {
  const route = useRoute();
  const [auth, setAuth] = useState<Auth>('unknown');
  // Raised when a token is given: pages are keyed by it, so they load again with the token.
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    setUnauthorizedListener(() => setAuth(storedToken() === undefined ? 'needed' : 'refused'));
  }, []);
  const useToken = (token: string) => {
    storeToken(token);
    setAuth('unknown');
    setGeneration((n) => n + 1);
  };
  return (
    <>
      <header class="container app-header">
        <nav aria-label="Main">
          <ul>
            <li>
              <strong>Streambed</strong>
            </li>
          </ul>
          <ul>
            <li>
              <a href={hrefs.overview} aria-current={route.page === 'overview' ? 'page' : undefined}>
                Overview
              </a>
            </li>
            <li>
              <a href={hrefs.createTopic} aria-current={route.page === 'create-topic' ? 'page' : undefined}>
                Create topic
              </a>
            </li>
            <li>
              <a
                href={hrefs.schemas}
                aria-current={route.page === 'schemas' || route.page === 'subject' ? 'page' : undefined}
              >
                Schemas
              </a>
            </li>
          </ul>
        </nav>
      </header>
      <main class="container">
        {auth !== 'unknown' && <TokenForm refused={auth === 'refused'} onToken={useToken} />}
        <div key={generation}>
          {route.page === 'overview' && <OverviewPage />}
          {route.page === 'create-topic' && <CreateTopicPage />}
          {route.page === 'topic' && <TopicPage key={route.name} topic={route.name} />}
          {route.page === 'group' && <GroupPage key={route.name} group={route.name} />}
          {route.page === 'subscription' && <SubscriptionPage key={route.name} subscription={route.name} />}
          {route.page === 'schemas' && <SchemasPage />}
          {route.page === 'subject' && <SubjectPage key={route.name} subject={route.name} />}
        </div>
      </main>
    </>
  );
}

function TokenForm({ refused, onToken }: { refused: boolean; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <article aria-labelledby="token-title">
      <h2 id="token-title">This server wants a token</h2>
      {refused ? (
        <p role="alert" class="notice-error">
          The server refused that token (401 UNAUTHORIZED). Enter the token it was started with: the value of
          its <code>--token</code> option or <code>STREAMBED_TOKEN</code>.
        </p>
      ) : (
        <p>
          It was started with <code>--token</code> (or <code>STREAMBED_TOKEN</code>): enter that token. It is
          kept in this tab only (sessionStorage) and sent only to this server.
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token !== '') onToken(token);
        }}
      >
        <div class="field">
          <label for="field-token">API token</label>
          <input
            id="field-token"
            type="password"
            name="token"
            autocomplete="current-password"
            required
            value={token}
            onInput={(event) => setToken(event.currentTarget.value)}
          />
        </div>
        <button type="submit">Use this token</button>
      </form>
    </article>
  );
}
