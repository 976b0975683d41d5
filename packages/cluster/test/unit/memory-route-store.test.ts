import { MemoryRouteStore } from '../../src/memory/memory-route-store.js';
import { routeStoreContract } from '../contract/route-store.contract.js';

routeStoreContract('MemoryRouteStore', async () => ({ store: new MemoryRouteStore(), cleanup: async () => {} }));
