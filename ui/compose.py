"""The composition root: builds the real objects from `Settings`."""

from __future__ import annotations

from assistant.chat_model import ChatModel, OpenAIChatModel
from assistant.extract import IntentExtractor
from assistant.parser import MessageParser
from assistant.policy_index import ChromaPolicyIndex
from assistant.search import ProductSearch
from assistant.service import NoServiceDesk, ServiceDesk, StoreServiceDesk
from assistant.service_tools import ServiceTools
from assistant.state import SessionStore
from assistant.store import Store
from assistant.tools import CatalogTools
from assistant.turn import Assistant
from ranking.base import Reranker
from ranking.fusion import FusionWeights
from retrieval.chroma import ChromaIndex, chroma_client
from retrieval.embedder import CachedQueryEmbedder, Embedder, make_embedder
from retrieval.search import FusionConfig
from ui.settings import Settings


def build_embedders(settings: Settings) -> tuple[Embedder, Embedder]:
    """The document embedder and the (cached) query embedder, both built on first use."""
    models = settings.models_dir
    doc = make_embedder(settings.embedder, settings.embed_max_length, lazy=True, models_dir=models)
    query = make_embedder(
        settings.query_embedder, settings.query_max_length, lazy=True, models_dir=models
    )
    return doc, CachedQueryEmbedder(query)


def build_fusion(settings: Settings) -> FusionConfig:
    """The hybrid fusion configured in `settings`."""
    return FusionConfig(
        method=settings.fusion_method,
        rrf_k=settings.fusion_rrf_k,
        lexical_weight=settings.fusion_lexical_weight,
        dense_weight=settings.fusion_dense_weight,
        candidates=settings.fusion_candidates,
        bm25_k1=settings.bm25_k1,
        bm25_b=settings.bm25_b,
    )


def build_index(settings: Settings) -> ChromaIndex:
    """The product index: a Chroma server if `chroma_url` is set, else embedded under `home`."""
    doc, query = build_embedders(settings)
    client = chroma_client(path=settings.chroma_path, url=settings.chroma_url)
    return ChromaIndex(
        client, doc, settings.collection, query_embedder=query, fusion=build_fusion(settings)
    )


def build_reranker(settings: Settings) -> Reranker:
    """The trained cross-encoder: the bundled model unless `reranker_model` names another."""
    from ranking.cross_encoder import CrossEncoderReranker

    if settings.reranker_precision == "onnx-int8":
        from ranking.onnx_reranker import OnnxCrossEncoderReranker

        return OnnxCrossEncoderReranker(
            settings.models_dir,
            settings.reranker_model,
            max_length=settings.reranker_max_length,
        )
    return CrossEncoderReranker(
        settings.reranker_model,
        precision=settings.reranker_precision,
        max_length=settings.reranker_max_length,
    )


def build_weights(settings: Settings) -> FusionWeights:
    """The re-ranking score fusion's weights configured in `settings`."""
    return FusionWeights(
        cross_encoder=settings.fusion_w_cross_encoder,
        retrieval=settings.fusion_w_retrieval,
        user=settings.fusion_w_user,
        in_stock=settings.fusion_w_in_stock,
        popularity=settings.fusion_w_popularity,
        freshness=settings.fusion_w_freshness,
    )


def build_search(settings: Settings, rerank: bool = True) -> ProductSearch:
    """Retrieval + re-ranking + fusion, as configured."""
    return ProductSearch(
        index=build_index(settings),
        reranker=build_reranker(settings) if rerank else None,
        weights=build_weights(settings),
        candidates=settings.rerank_candidates,
        kinds_first=settings.search_kinds_first,
    )


def build_chat_model(settings: Settings, served_name: str | None = None) -> OpenAIChatModel:
    """The client of the configured model server (`llm_url`, else the local one), asking
    `served_name` (default: the served base model)."""
    return OpenAIChatModel(
        settings.model_url,
        served_name or settings.llm_served_name,
        timeout=settings.llm_timeout,
        api_key=settings.llm_api_key,
    )


def choose_model(settings: Settings) -> tuple[OpenAIChatModel, str]:
    """The model the assistant asks and its prompt style.

    The tuned adapter (`LORA_NAME`, "short" prompts) when the server lists it, or when no
    server answers yet and the local one will be started with an adapter; otherwise the served
    base model with few-shot prompts ("few_shot")."""
    from ui import llm_server

    listed = llm_server.served_models(settings.model_url, settings.llm_api_key)
    local_adapter = settings.llm_url is None and settings.lora_path is not None
    if llm_server.LORA_NAME in listed or (not listed and local_adapter):
        return build_chat_model(settings, llm_server.LORA_NAME), "short"
    return build_chat_model(settings), "few_shot"


def build_store(settings: Settings) -> Store:
    """The store database; the demo store is seeded into an empty one when so configured."""
    store = Store(settings.store_path)
    if settings.store_seed_demo and store.is_empty():
        from assistant.seed import seed_demo
        from retrieval.icecat import load_demo

        seed_demo(store, load_demo())
    return store


def build_policies(settings: Settings) -> ChromaPolicyIndex:
    """The store policy's passages in their own Chroma collection (synced on open)."""
    from assistant.policy import store_policy

    _, query = build_embedders(settings)  # the query model embeds the dozen passages too
    client = chroma_client(path=settings.chroma_path, url=settings.chroma_url)
    return ChromaPolicyIndex(client, query, store_policy(), settings.policy_collection)


def build_service(settings: Settings, search: ProductSearch, sessions: SessionStore) -> ServiceDesk:
    """The service desk: over the store database, or `NoServiceDesk` when `store` is off."""
    if not settings.store:
        return NoServiceDesk()
    tools = ServiceTools(build_store(settings), search.index, build_policies(settings))
    return StoreServiceDesk(tools, sessions)


def build_assistant(
    settings: Settings, model: ChatModel | None = None, search: ProductSearch | None = None
) -> Assistant:
    """The assistant as configured: catalog tools, parser + model extraction, SQLite state,
    and the service desk over the store database.

    Args:
        settings: The configuration.
        model: The chat model (asked with few-shot prompts); default `choose_model`.
        search: The product search; default `build_search(settings)`.
    """
    search = search or build_search(settings)
    style = "few_shot"
    if model is None:
        model, style = choose_model(settings)
    sessions = SessionStore(settings.conversations_path)
    return Assistant(
        tools=CatalogTools(search),
        extractor=IntentExtractor(MessageParser(search.index.brands()), model, prompt_style=style),
        store=sessions,
        writer=model if settings.llm_writes_replies else None,
        prompt_style=style,
        service=build_service(settings, search, sessions),
        temperature=settings.llm_temperature,
        budget=settings.llm_turn_budget,
        min_relevance=settings.match_min_relevance,
    )
