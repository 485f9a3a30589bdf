// The bare platform: the fewest lines that put a provider's stream through a Worker, no auth, no state.
// `bench-routing` runs it under the same wrangler and workerd as DataSage, so the difference between the
// two is what DataSage itself adds.
export default {
  async fetch(request, env) {
    if (request.method !== "POST") return new Response("ok"); // the launcher's readiness probe
    const upstream = await fetch(env.PROVIDER_URL, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
      body: request.body,
    });
    return new Response(upstream.body, { status: upstream.status, headers: { "content-type": "text/event-stream" } });
  },
};
