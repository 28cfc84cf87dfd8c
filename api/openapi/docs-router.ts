import path from 'node:path';
import { Router, static as serveStatic } from 'express';
import { z } from 'zod';
import type { OpenApiDocument } from './openapi-document';
import type { RouteGroup } from './route-spec';

/** The swagger-ui-dist package's directory (its static assets). */
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

// Swagger UI configured for our document: keeps the API key across reloads, "Try it out" on.
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/api/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    tryItOutEnabled: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

/**
 * GET /api/v1/openapi.json (public: it describes, never serves, data) and the interactive
 * reference at /docs, served from the swagger-ui-dist package (no CDN).
 */
export function docsRouter(document: OpenApiDocument): Router {
  const router = Router();
  router.get('/api/v1/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.get('/docs', (req, res, next) => {
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(301, '/docs/');
    next();
  });
  router.get('/docs/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(INITIALIZER);
  });
  router.use('/docs', serveStatic(SWAGGER_UI_DIR, { index: 'index.html' }));
  return router;
}

/** OpenAPI description of the routes outside the service routers. */
export const systemRoutes: RouteGroup = {
  prefix: '',
  tag: 'system',
  description: 'Liveness, metrics and this description',
  routes: [
    { method: 'get', path: '/api/v1/openapi.json', summary: 'This OpenAPI 3.1 document', auth: 'none', responses: { 200: { description: 'The document', schema: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }) } } },
    { method: 'get', path: '/docs', summary: 'Interactive API reference (Swagger UI)', auth: 'none', responses: { 301: { description: 'Redirect to /docs/' }, 200: { description: 'The page', contentType: 'text/html' } } },
    { method: 'get', path: '/docs/swagger-initializer.js', summary: 'Swagger UI configuration script', auth: 'none', responses: { 200: { description: 'Script', contentType: 'application/javascript' } } },
    { method: 'get', path: '/metrics', summary: 'Prometheus metrics of the API process', auth: 'metrics-token', responses: { 200: { description: 'Prometheus text exposition', contentType: 'text/plain' } } },
  ],
};
