/* Chart.js was not found when this edvd was built (Debian: libjs-chart.js):
 * the dashboard says "charts unavailable in this build". */
