/**
 * Where the console is: the part of the URL after `#`, so that every page is a link that can be
 * bookmarked and shared, and the server serves one document for all of them.
 * `#/` overview, `#/topics/new` create a topic, `#/topics/<name>` a topic, `#/groups/<name>` a consumer
 * group, `#/subscriptions/<name>` a subscription, `#/schemas` the schema registry's subjects, `#/schemas/<subject>`
 * a subject.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'overview' }
  | { page: 'create-topic' }
  | { page: 'schemas' }
  | { page: 'topic' | 'group' | 'subscription' | 'subject'; name: string };

const NAMED = {
  topics: 'topic',
  groups: 'group',
  subscriptions: 'subscription',
  schemas: 'subject',
} as const;

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/topics/new') return { page: 'create-topic' };
  if (path === '/schemas') return { page: 'schemas' };
  const named = /^\/(topics|groups|subscriptions|schemas)\/([^/]+)$/.exec(path);
  if (named !== null) {
    try {
      return { page: NAMED[named[1] as keyof typeof NAMED], name: decodeURIComponent(named[2] as string) };
    } catch {
      return { page: 'overview' };
    }
  }
  return { page: 'overview' };
}

export const hrefs = {
  overview: '#/',
  createTopic: '#/topics/new',
  topic: (name: string) => `#/topics/${encodeURIComponent(name)}`,
  group: (name: string) => `#/groups/${encodeURIComponent(name)}`,
  subscription: (name: string) => `#/subscriptions/${encodeURIComponent(name)}`,
  schemas: '#/schemas',
  subject: (name: string) => `#/schemas/${encodeURIComponent(name)}`,
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
