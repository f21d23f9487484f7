"""Any OpenAI-compatible ``/v1/completions`` server (vLLM serve, llama.cpp's server, …).

llama.cpp's server accepts one prompt per request and ignores ``n``, so this backend always sends
one prompt and one sample per request, ``n`` requests per prompt with distinct seeds, a few in
flight at once. Standard library only (urllib), so it adds no dependency.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from .base import Backend, Completion, sample_seed, truncate_at_stop


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, base_url: str | None, model: str = "default", concurrency: int = 4,
                 timeout_s: float = 600, retries: int = 3, api_key: str | None = None):
        super().__init__()
        if not base_url:
            raise ValueError("openai backend needs backend.base_url, e.g. http://127.0.0.1:8000/v1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.retries = retries
        self.api_key = api_key

    @classmethod
    def from_config(cls, path, cfg, spec=None, lora_path=None):
        return cls(cfg["backend"]["base_url"], model=spec.name if spec else "default",
                   concurrency=cfg["backend"]["concurrency"])

    def _post(self, payload: dict) -> dict:
        data = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = None
        for attempt in range(self.retries):
            req = urllib.request.Request(self.base_url + "/completions", data=data, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                    return json.loads(r.read())
            except urllib.error.HTTPError as e:
                body = e.read().decode(errors="replace")[:300]
                if e.code < 500:
                    raise RuntimeError(f"{self.base_url}: HTTP {e.code}: {body}") from None
                last = RuntimeError(f"{self.base_url}: HTTP {e.code}: {body}")
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = RuntimeError(f"{self.base_url}: {e}")
            time.sleep(min(2 ** attempt, 10))
        raise last  # type: ignore[misc]

    def _one(self, prompt: str, k: int, temperature, max_tokens, stop, seed, top_p=None) -> Completion:
        payload = {"model": self.model, "prompt": prompt, "max_tokens": max_tokens, "temperature": temperature,
                   "stop": stop or [], "n": 1, "seed": sample_seed(seed, prompt, k)}
        if temperature > 0:
            payload["top_p"] = 0.95 if top_p is None else top_p
        out = self._post(payload)
        ch = out["choices"][0]
        text, cut = truncate_at_stop(ch.get("text", ""), stop)
        usage = out.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        return Completion(text=text, finish_reason="stop" if cut else (ch.get("finish_reason") or "stop"),
                          prompt_tokens=usage.get("prompt_tokens", 0),
                          completion_tokens=usage.get("completion_tokens", 0),
                          cached_tokens=details.get("cached_tokens", 0) or 0)

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=256, stop=None, seed=None, progress=None,
                 keys=None, top_p=None, loop_guard=0):  # seeds derive from the prompt text here; keys are not needed
        with self.collect(len(prompts), n, progress) as out, ThreadPoolExecutor(self.concurrency) as pool:
            futs = {pool.submit(self._one, p, k, temperature, max_tokens, stop, seed, top_p): (i, k)
                    for i, p in enumerate(prompts) for k in range(n)}
            for fut, (i, k) in futs.items():
                out.add(i, k, fut.result())
        return out.results  # type: ignore[return-value]
