#!/usr/bin/env node
// The `alignc` executable. Every command releases the GPU before it returns, so the process exits
// by itself once main() resolves.

import { main } from './app.js';

process.exitCode = await main(process.argv.slice(2));
