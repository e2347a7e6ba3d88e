import type { Figure, FigureId } from '../lib/types';

/** Each figure in its own module, loaded only by the worker that runs it. */
export async function loadFigure(id: FigureId): Promise<Figure> {
  switch (id) {
    case 'B1':
      return (await import('./b1-decision-latency')).figure;
    case 'B2':
      return (await import('./b2-cold-import')).figure;
    case 'B3':
      return (await import('./b3-bundle-size')).figure;
    case 'B4':
      return (await import('./b4-webhook-throughput')).figure;
    case 'B5':
      return (await import('./b5-gateway-throughput')).figure;
    case 'B6':
      return (await import('./b6-timing-parity')).figure;
    case 'B7':
      return (await import('./b7-heap')).figure;
    case 'B8':
      return (await import('./b8-metering-throughput')).figure;
    case 'B9':
      return (await import('./b9-enforcement-lag')).figure;
    case 'B10':
      return (await import('./b10-strict-decision')).figure;
    case 'B11':
      return (await import('./b11-jwt')).figure;
    case 'B12':
      return (await import('./b12-storm')).figure;
    case 'B13':
      return (await import('./b13-agents')).figure;
    case 'B14':
      return (await import('./b14-mcp')).figure;
  }
}
