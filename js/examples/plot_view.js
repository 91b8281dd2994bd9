/** A line plot of a series of numbers as hand-written SVG: one polyline point per value. */

const WIDTH = 600;
const HEIGHT = 200;
const MARGIN = 10;
const SVG = "http://www.w3.org/2000/svg";

/**
 * @param {HTMLElement} element emptied and given the plot
 * @param {ArrayLike<number>} values at least two
 * @returns {{min: number, max: number}} the range the plot spans
 */
export function renderPlot(element, values) {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  const yScale = (HEIGHT - 2 * MARGIN) / (max - min || 1);
  const xScale = (WIDTH - 2 * MARGIN) / (values.length - 1);
  const points = Array.from(values, (value, i) => `${(MARGIN + i * xScale).toFixed(1)},${(HEIGHT - MARGIN - (value - min) * yScale).toFixed(1)}`);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute("width", WIDTH);
  svg.setAttribute("height", HEIGHT);
  const line = svg.appendChild(document.createElementNS(SVG, "polyline"));
  line.setAttribute("points", points.join(" "));
  element.replaceChildren(svg);
  return { min, max };
}
