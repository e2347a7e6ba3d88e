#!/usr/bin/env node
import { synthesizeApp } from '../lib/app';

process.exitCode = synthesizeApp((text) => process.stderr.write(text));
