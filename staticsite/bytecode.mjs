// Run a Python script in Pyodide under Node.js, with the site's own Pyodide and packages.
//
//     node staticsite/bytecode.mjs PYODIDE_DIR PACKAGES_JSON SCRIPT.py OUTPUT
//
// The script runs once the packages are loaded; what it writes to /tmp/output in Pyodide's file system is
// copied to OUTPUT on disk. build.py uses this to compile the modules that the dashboard imports into
// bytecode with the browser's own Python (see compile_bytecode in build.py).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [dir, packages, script, output] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: path.resolve(dir) + "/", packages: JSON.parse(packages),
                                    stdout: () => {}, stderr: (line) => console.error(line) });
pyodide.globals.set("script_source", fs.readFileSync(script, "utf8"));
const failed = await pyodide.runPythonAsync(`
import traceback
try:
    exec(compile(script_source, "bytecode.py", "exec"), {"__name__": "__main__"})
    failed = False
except BaseException:
    traceback.print_exc()
    failed = True
failed`);
if (failed) process.exit(1);
fs.writeFileSync(output, pyodide.FS.readFile("/tmp/output"));
