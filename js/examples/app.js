/**
 * The example page: connects to the Hypha server it was served from, fetches a DataFrame and
 * a numpy array from the Python service named in `?service=`, and shows them.
 * `document.body.dataset.state` ends as "ready" or "failed", for people and tests alike.
 */
import { connectToServer } from "hypha-arrow";
import { renderTable } from "./table_view.js";
import { renderPlot } from "./plot_view.js";

const FIRST_ROWS = 10;
const SAMPLES = 500;

async function show() {
  const serviceId = new URLSearchParams(location.search).get("service");
  if (!serviceId) throw new Error("no ?service= in the address: open the one serve.py printed");
  const server = await connectToServer({ server_url: location.origin });
  const service = await server.getService(serviceId);

  const table = await service.readings();
  document.querySelector("#table-summary").textContent = `${table.numRows} rows, ${table.numCols} columns; the first ${FIRST_ROWS}:`;
  renderTable(document.querySelector("#readings"), table, FIRST_ROWS);

  const signal = await service.signal(SAMPLES);
  const { min, max } = renderPlot(document.querySelector("#plot"), signal.data);
  document.querySelector("#plot-summary").textContent = `${signal.dtype} [${signal.shape}] as ${signal.data.constructor.name}, min ${min.toFixed(3)}, max ${max.toFixed(3)}`;
}

show().then(
  () => {
    document.querySelector("#status").textContent = "Connected.";
    document.body.dataset.state = "ready";
  },
  (error) => {
    document.querySelector("#status").textContent = `Failed: ${error.message ?? error}`;
    document.body.dataset.state = "failed";
    console.error(error);
  },
);
