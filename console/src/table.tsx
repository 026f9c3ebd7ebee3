/** A table of rows under column headings, scrolling sideways on a narrow window rather than the page. */
import type { ComponentChildren } from 'preact';

export function DataTable({
  headings,
  caption,
  striped = true,
  className,
  children,
}: {
  headings: string[];
  caption?: ComponentChildren;
  striped?: boolean;
  className?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="overflow-auto">
      <table class={[className, striped ? 'striped' : undefined].filter(Boolean).join(' ')}>
        {caption !== undefined && <caption class="muted">{caption}</caption>}
        <thead>
          <tr>
            {headings.map((heading) => (
              <th key={heading} scope="col">
                {heading}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
