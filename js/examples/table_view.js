/** An HTML table of an apache-arrow Table's first rows. */

/**
 * @param {HTMLTableElement} element emptied and filled
 * @param {import("apache-arrow").Table} table
 * @param {number} rows how many rows to show at most
 */
export function renderTable(element, table, rows) {
  const names = table.schema.fields.map((field) => field.name);
  element.replaceChildren();
  const head = element.createTHead().insertRow();
  for (const name of names) head.appendChild(document.createElement("th")).textContent = name;
  const body = element.createTBody();
  const columns = names.map((name) => table.getChild(name));
  for (let row = 0; row < Math.min(rows, table.numRows); row++) {
    const line = body.insertRow();
    for (const column of columns) line.insertCell().textContent = String(column.get(row)); // String: int64 cells are BigInts
  }
}
