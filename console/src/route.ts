/**
 * Where the console is: the part of the URL after `#`, so that every page is a link that can be
 * bookmarked and shared, and the server serves one document for all of them.
 * `#/` overview, `#/topics/new` create a topic, `#/topics/<name>` a topic.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route = { page: 'overview' } | { page: 'create-topic' } | { page: 'topic'; topic: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/topics/new') return { page: 'create-topic' };
  const topic = /^\/topics\/([^/]+)$/.exec(path)?.[1];
  if (topic !== undefined) {
    try {
      return { page: 'topic', topic: decodeURIComponent(topic) };
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
