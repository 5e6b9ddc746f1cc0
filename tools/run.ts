/**
 * Runs a command for the tools in this folder.
 *
 * @module
 */

/**
 * Runs `cmd` in `cwd` and returns its stdout and stderr together; throws
 * with that output if it fails.
 */
export async function run(cmd: string[], cwd: string | URL): Promise<string> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`\`${cmd.join(" ")}\` failed in ${cwd}:\n${text}`);
  }
  return text;
}
