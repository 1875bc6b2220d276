// Names and targets of the two packages package.mjs builds. Pure, unit-tested (test/unit/package.test.mjs).

/** VS Code's target platform for a Node platform/arch pair (vsce --target), or undefined if it has none. */
export function vsceTarget(platform, arch) {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[platform];
  const cpu = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[arch];
  return os && cpu ? `${os}-${cpu}` : undefined;
}

/**
 * The .vsix file name: `<name>-<version>.vsix` for the extension alone (any platform; the server comes
 * from codex.server.path or PATH), `<name>-<version>-<target>.vsix` with a bundled server for one platform.
 */
export function vsixName(pkg, target) {
  return target ? `${pkg.name}-${pkg.version}-${target}.vsix` : `${pkg.name}-${pkg.version}.vsix`;
}

/** The bundled binary's name inside the package: what serverPath.ts looks for on that platform. */
export function bundledBinaryName(target) {
  return target && target.startsWith('win32-') ? 'codex-lsp.exe' : 'codex-lsp';
}
