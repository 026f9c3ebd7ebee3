/**
 * Where a LocalStack for the optional AWS suites can be found: `AWS_ENDPOINT_URL` when it is set (a
 * LocalStack someone already runs), else a container started through testcontainers when a container
 * runtime answers. Otherwise the LocalStack suites report themselves skipped with the reason.
 */
export interface LocalStackTarget {
  endpoint?: string;
  skipReason?: string;
  stop(): Promise<void>;
}

/** LocalStack's image; pinned so a run is repeatable. */
const IMAGE = 'localstack/localstack:4.9';

export async function findLocalStack(): Promise<LocalStackTarget> {
  const none = async () => {};
  const configured = process.env.AWS_ENDPOINT_URL;
  if (configured !== undefined && configured !== '') return { endpoint: configured, stop: none };
  if (process.env.STREAMBED_SKIP_LOCALSTACK === '1') {
    return { skipReason: 'STREAMBED_SKIP_LOCALSTACK=1', stop: none };
  }
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch (error) {
    return {
      skipReason: `no container runtime (Docker) answers and AWS_ENDPOINT_URL is not set (${firstLine(error)})`,
      stop: none,
    };
  }
  try {
    const { LocalstackContainer } = await import('@testcontainers/localstack');
    const container = await new LocalstackContainer(IMAGE).start();
    return { endpoint: container.getConnectionUri(), stop: async () => void (await container.stop()) };
  } catch (error) {
    return { skipReason: `LocalStack container ${IMAGE} could not start (${firstLine(error)})`, stop: none };
  }
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}
