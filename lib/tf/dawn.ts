/**
 * WebGPU in Node through Dawn (the optional `webgpu` npm package): creates navigator.gpu, adds
 * Mesa's software Vulkan driver (lavapipe, installed by infra/webgpu-software.sh) only when
 * TDA_WEBGPU_SOFTWARE=1 asks for it, and keeps the function that lets Dawn deliver its callbacks,
 * so that a GPU buffer can be read synchronously (lib/tf/webgpuReadSync.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What Dawn reports about an adapter (GPUAdapterInfo). */
export interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

interface Gpu {
  requestAdapter(o?: { powerPreference?: string }): Promise<{ info?: AdapterInfo } | null>;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Lavapipe's ICD file written by infra/webgpu-software.sh (its library path made absolute), or
 * undefined where setup did not install it.
 */
export function softwareVulkanDriver(): string | undefined {
  const stack = process.env.TDA_STACK_DIR ?? path.join(root, '.stack');
  const icd = path.join(stack, 'webgpu-software', 'lvp_icd.json');
  return existsSync(icd) ? icd : undefined;
}

/** Whether the user asked for WebGPU on a software adapter (TDA_WEBGPU_SOFTWARE=1). */
export function softwareWebgpuAsked(): boolean {
  return process.env.TDA_WEBGPU_SOFTWARE === '1';
}

/** Software rasterisers Dawn may offer as an adapter: they are no GPU. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software/i;

export function isSoftwareAdapter(info: AdapterInfo): boolean {
  const desc = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return info.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(desc);
}

export function describeAdapter(info: AdapterInfo): string {
  return info.description || [info.vendor, info.device].filter(Boolean).join(' ') || '(unnamed)';
}

/**
 * Dawn's node binding resolves a promise (mapAsync, requestDevice) only when its event tick runs,
 * which it schedules with setImmediate. Calling that tick ourselves delivers the callbacks
 * without returning to the event loop.
 */
let dawnTick: (() => void) | undefined;

/** Runs f while recording the native function Dawn hands to setImmediate. */
export async function capturingDawnTick<T>(f: () => Promise<T>): Promise<T> {
  const original = globalThis.setImmediate;
  const capture = ((fn: (...a: unknown[]) => void, ...args: unknown[]) => {
    if (Function.prototype.toString.call(fn).includes('[native code]')) {
      dawnTick = fn as () => void;
    }
    return original(fn, ...args);
  }) as typeof setImmediate;
  globalThis.setImmediate = Object.assign(capture, original);
  try {
    return await f();
  } finally {
    globalThis.setImmediate = original;
  }
}

/** Lets Dawn deliver pending callbacks now (see dawnTick). */
export function processDawnEvents(): void {
  if (!dawnTick) throw new Error('Dawn event tick not captured (webgpu not initialised here)');
  dawnTick();
}

let created: Gpu | undefined;

/**
 * navigator.gpu from Dawn, created once per process. With the software driver asked for, its ICD
 * is added to the Vulkan loader's list (beside any hardware driver) before Dawn starts it.
 */
export async function dawnGpu(): Promise<Gpu | undefined> {
  const g = globalThis as { navigator?: { gpu?: Gpu } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  if (created) return created;
  const icd = softwareVulkanDriver();
  if (softwareWebgpuAsked() && icd) {
    process.env.VK_ADD_DRIVER_FILES = [process.env.VK_ADD_DRIVER_FILES, icd]
      .filter(Boolean)
      .join(path.delimiter);
  }
  // A computed name: the package is optional, and tsc must not require it.
  const name = 'webgpu';
  const mod = (await import(/* @vite-ignore */ name)) as {
    create?: (flags: string[]) => Gpu;
    globals?: Record<string, unknown>;
  };
  if (!mod.create) return undefined;
  // GPUBufferUsage, GPUMapMode, ... that @tensorflow/tfjs-backend-webgpu reads as globals.
  if (mod.globals) Object.assign(globalThis, mod.globals);
  created = mod.create([]);
  const nav = (g.navigator ?? {}) as { gpu?: Gpu };
  nav.gpu = created;
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: nav, writable: true });
  return created;
}
