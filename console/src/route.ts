/**
 * Where the console is: the part of the URL after `#`, so that every page is a link that can be
 * bookmarked and shared, and the server serves one document for all of them.
 * `#/` overview, `#/topics/new` create a topic, `#/topics/<name>` a topic, `#/groups/<name>` a consumer
 * group, `#/subscriptions/<name>` a subscription.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'overview' }
  | { page: 'create-topic' }
  | { page: 'topic' | 'group' | 'subscription'; name: string };

const NAMED = { topics: 'topic', groups: 'group', subscriptions: 'subscription' } as const;

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/topics/new') return { page: 'create-topic' };
  const named = /^\/(topics|groups|subscriptions)\/([^/]+)$/.exec(path);
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
