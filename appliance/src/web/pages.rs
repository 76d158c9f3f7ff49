//! The visitor pages: home, live, directory, marketplace, mutual aid, search, the territory
//! picker and the language switcher, the web app manifest and the service worker.

use maud::{html, Markup, PreEscaped};
use rocket::http::{ContentType, Cookie, CookieJar, Header, SameSite, Status};
use rocket::response::content::RawHtml;
use rocket::response::{self, Redirect, Responder, Response};
use rocket::{Request, State};

use super::cache::PageCache;
use super::i18n::Lang;
use super::layout::{self, enc, page as render, safe_back, Ctx, LANG_COOKIE, SCOPE_COOKIE};
use super::view::{self, card};
use crate::api::{blocking, Hub};
use crate::config::Module;
use crate::error::Error;
use crate::model::{self, Element, Kind};
use crate::search::SearchQuery;
use crate::store::ListQuery;
use crate::territory::{self, Scope};

/// A page, or an HTML page saying what went wrong with its status.
pub type PageResult = Result<Html, Failure>;

/// A rendered page. Its text is shared with the page cache, so a page served from the
/// cache is neither copied nor allocated again.
pub struct Html(pub std::sync::Arc<str>);

impl From<String> for Html {
    fn from(html: String) -> Html {
        Html(html.into())
    }
}

impl From<Markup> for Html {
    fn from(page: Markup) -> Html {
        Html::from(page.into_string())
    }
}

/// The bytes of a shared page, as a response body reads them.
struct SharedBody(std::sync::Arc<str>);

impl AsRef<[u8]> for SharedBody {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl<'r> Responder<'r, 'static> for Html {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let len = self.0.len();
        Response::build()
            .header(ContentType::HTML)
            .header(Header::new("Cache-Control", "no-cache"))
            .sized_body(len, std::io::Cursor::new(SharedBody(self.0)))
            // The whole page in one write (Rocket's default is 4 KiB chunks).
            .max_chunk_size(len.max(4096))
            .ok()
    }
}

/// An error page with its status.
pub struct Failure(pub Status, pub String);

impl<'r> Responder<'r, 'static> for Failure {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        // Page routes such as `/<kind>/<slug>` also match paths under `/api/`, whose errors
        // are JSON: the catcher answers those.
        if req.uri().path().starts_with("/api/") {
            return Err(self.0);
        }
        Response::build_from(RawHtml(self.1).respond_to(req)?)
            .status(self.0)
            .header(Header::new("Cache-Control", "no-store"))
            .ok()
    }
}

/// The error page for `e`, in the visitor's language.
pub fn fail(ctx: &Ctx<'_>, e: Error) -> Failure {
    let status = Status::from_code(e.status()).unwrap_or(Status::InternalServerError);
    if status.code >= 500 {
        tracing::error!(error = %e, uri = %ctx.here, "page failed");
    }
    Failure(
        status,
        layout::error_page(ctx, status.code, &e.public_message()).into_string(),
    )
}

/// A 404 page when a module is off.
pub fn require(ctx: &Ctx<'_>, module: Module) -> Result<(), Failure> {
    ctx.hub.require(module).map_err(|e| fail(ctx, e))
}

/// A 400 page with a message.
pub fn bad(ctx: &Ctx<'_>, message: String) -> Failure {
    Failure(Status::BadRequest, layout::error_page(ctx, 400, &message).into_string())
}

/// Runs store work off the executor and renders its error as a page.
pub async fn load<T: Send + 'static>(
    ctx: &Ctx<'_>,
    f: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> Result<T, Failure> {
    blocking(f).await.map_err(|e| fail(ctx, e.0))
}

/// Kinds from a `kind=` parameter (comma-separated), or a 400 page.
pub fn parse_kinds(ctx: &Ctx<'_>, kinds: Option<&str>) -> Result<Vec<Kind>, Failure> {
    kinds
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Kind::parse(s).ok_or_else(|| bad(ctx, ctx.ta("bad-kind", &[("value", s.to_owned().into())]))))
        .collect()
}

/// Tags from a `tags=` parameter, normalised.
pub fn parse_tags(tags: Option<&str>) -> Vec<String> {
    tags.unwrap_or("")
        .split(',')
        .map(model::normalize_tag)
        .filter(|t| !t.is_empty())
        .take(10)
        .collect()
}

/// The page's territory: a `scope=` parameter, else the visitor's.
pub fn parse_scopes(ctx: &Ctx<'_>, scope: Option<&str>) -> Result<Vec<Scope>, Failure> {
    match scope.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Scope::parse_list(s).map_err(|_| bad(ctx, ctx.ta("bad-scope", &[("value", s.to_owned().into())]))),
        None => Ok(ctx.scopes.clone()),
    }
}

fn check_cursor(ctx: &Ctx<'_>, cursor: Option<&str>) -> Result<Option<String>, Failure> {
    match cursor {
        None | Some("") => Ok(None),
        Some(c)
            if c.len() <= 40
                && c.strip_prefix('c')
                    .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n > 0)) =>
        {
            Ok(Some(c.to_owned()))
        }
        Some(_) => Err(bad(ctx, ctx.t("bad-cursor"))),
    }
}

fn section(ctx: &Ctx<'_>, title: &str, more: (&str, &str), items: &[Element]) -> Markup {
    html! {
        section {
            h2 { (title) }
            @if items.is_empty() {
                p.meta { (ctx.t("empty")) }
            } @else {
                ul.cards { @for e in items { (card(ctx, e)) } }
            }
            p { a href=(more.0) { (ctx.t(more.1)) " →" } }
        }
    }
}

/// `/`: the hub's name and territory, coming events, latest posts, newest classifieds and
/// mutual aid, a QR code of the hub's address.
#[rocket::get("/")]
pub async fn home(ctx: Ctx<'_>, cache: &State<PageCache>) -> PageResult {
    if let Some(hit) = cache.get(&ctx) {
        return Ok(hit);
    }
    let store = ctx.hub.store.clone();
    let (scopes, viewer, member_of) = (
        ctx.scopes.clone(),
        ctx.reader.visibility(),
        ctx.reader.member_of.clone(),
    );
    let now = model::now_seconds();
    let (events, posts, classifieds, aid, counts) = load(&ctx, move || {
        let events = store.agenda(&crate::store::AgendaQuery {
            from: Some(now),
            to: Some(now + 60 * 86_400),
            scopes: scopes.clone(),
            limit: 6,
            visibility: viewer,
            member_of: member_of.clone(),
            ..Default::default()
        })?;
        let posts = store.live(&crate::store::LiveQuery {
            scopes: scopes.clone(),
            limit: 5,
            visibility: viewer,
            ..Default::default()
        })?;
        let list = |kinds: Vec<Kind>| {
            store.list_elements(&ListQuery {
                kinds,
                scopes: scopes.clone(),
                limit: 4,
                visibility: viewer,
                member_of: member_of.clone(),
                ..Default::default()
            })
        };
        let classifieds = list(vec![Kind::Classified])?;
        let aid = list(vec![Kind::Resource])?;
        let counts = store.count_elements(viewer)?;
        Ok((events.items, posts.items, classifieds.items, aid.items, counts))
    })
    .await?;
    let identity = ctx.hub.identity();
    let name = &identity.name;
    let address = format!("http://{}/", ctx.hub.portal.canonical);
    let total: u64 = counts.values().sum();
    let body = html! {
        div.hero {
            div {
                h1 { (ctx.ta("home-welcome", &[("name", name.as_str().into())])) }
                @if ctx.scopes.is_empty() && identity.territories.is_empty() {
                    p { (ctx.t("home-intro-plain")) }
                } @else {
                    p { (ctx.ta("home-intro", &[("territory", ctx.territory_label().into())])) }
                }
                p.meta { (ctx.ta("home-counts", &[("elements", ctx.n(total as i64).into())])) }
            }
            figure {
                (PreEscaped(super::qr_svg(&address).unwrap_or_default()))
                figcaption.meta { (ctx.ta("home-qr", &[("url", address.as_str().into())])) }
            }
        }
        @if ctx.hub.module_on(Module::Agenda) { (section(&ctx, &ctx.t("home-coming"), ("/agenda", "home-all-events"), &events)) }
        @if ctx.hub.module_on(Module::Live) {
        section {
            h2 { (ctx.t("home-latest")) }
            @if posts.is_empty() { p.meta { (ctx.t("empty")) } }
            @for (post, element) in &posts { (post_view(&ctx, post, element.as_ref())) }
            p { a href="/live" { (ctx.t("home-all-live")) " →" } }
        }
        }
        div.split {
            @if ctx.hub.module_on(Module::Marketplace) { (section(&ctx, &ctx.t("home-classifieds"), ("/marketplace", "home-all-classifieds"), &classifieds)) }
            @if ctx.hub.module_on(Module::MutualAid) { (section(&ctx, &ctx.t("home-mutual-aid"), ("/mutual-aid", "home-all-mutual-aid"), &aid)) }
        }
    };
    Ok(cache.put(&ctx, render(&ctx, "", body)))
}

/// One journal post.
pub fn post_view(ctx: &Ctx<'_>, post: &crate::model::Record, element: Option<&Element>) -> Markup {
    let text = post.doc.get("text").and_then(|v| v.as_str()).unwrap_or("");
    let zone = ctx.hub.store.zone();
    let date = post
        .doc
        .get("created")
        .and_then(|v| model::timestamp_from_value(v, zone))
        .map(|t| {
            let z = t.to_zoned_datetime(zone.clone());
            format!(
                "{}, {}",
                super::i18n::date_long(ctx.lang, z.date()),
                super::i18n::time(ctx.lang, z.time())
            )
        });
    html! {
        article.post {
            p.meta {
                @if let Some(e) = element {
                    a href=(view::url(e)) { (view::name(e)) }
                    " · "
                }
                @if let Some(d) = date { time { (d) } }
            }
            @for para in text.split("\n\n").filter(|p| !p.trim().is_empty()).take(6) {
                p { (para.trim()) }
            }
        }
    }
}

/// `/live`: the latest public posts of the territory.
#[rocket::get("/live?<scope>&<cursor>")]
pub async fn live(ctx: Ctx<'_>, cache: &State<PageCache>, scope: Option<&str>, cursor: Option<&str>) -> PageResult {
    require(&ctx, Module::Live)?;
    let scopes = parse_scopes(&ctx, scope)?;
    let cursor = check_cursor(&ctx, cursor)?;
    if let Some(hit) = cache.get(&ctx) {
        return Ok(hit);
    }
    let store = ctx.hub.store.clone();
    let viewer = ctx.viewer;
    let page_ = load(&ctx, move || {
        store.live(&crate::store::LiveQuery {
            scopes,
            limit: 20,
            cursor,
            visibility: viewer,
        })
    })
    .await?;
    let body = html! {
        h1 { (ctx.t("live-title")) }
        p { (ctx.t("live-intro")) " " a href="/live.atom" { "Atom" } }
        @if page_.items.is_empty() { p.meta { (ctx.t("empty")) } }
        @for (post, element) in &page_.items { (post_view(&ctx, post, element.as_ref())) }
        (view::pager(&ctx, page_.next))
    };
    Ok(cache.put(&ctx, render(&ctx, &ctx.t("live-title"), body)))
}

/// Which list page: the directory, the marketplace or mutual aid.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ListPage {
    Directory,
    Marketplace,
    MutualAid,
}

impl ListPage {
    pub fn path(self) -> &'static str {
        match self {
            ListPage::Directory => "/directory",
            ListPage::Marketplace => "/marketplace",
            ListPage::MutualAid => "/mutual-aid",
        }
    }

    fn kinds(self) -> &'static [Kind] {
        match self {
            ListPage::Directory => &[Kind::Organization, Kind::Project, Kind::Person, Kind::Poi, Kind::Event],
            ListPage::Marketplace => &[Kind::Classified],
            ListPage::MutualAid => &[Kind::Resource],
        }
    }

    fn module(self) -> Module {
        match self {
            ListPage::Directory => Module::Directory,
            ListPage::Marketplace => Module::Marketplace,
            ListPage::MutualAid => Module::MutualAid,
        }
    }

    fn title(self) -> &'static str {
        match self {
            ListPage::Directory => "directory-title",
            ListPage::Marketplace => "marketplace-title",
            ListPage::MutualAid => "mutual-aid-title",
        }
    }

    fn intro(self) -> &'static str {
        match self {
            ListPage::Directory => "directory-intro",
            ListPage::Marketplace => "marketplace-intro",
            ListPage::MutualAid => "mutual-aid-intro",
        }
    }
}

/// The filters form shared by the list pages (and the map).
pub fn filters_form(
    ctx: &Ctx<'_>,
    action: &str,
    kinds: &[Kind],
    chosen: &[Kind],
    tags: &[String],
    types: Option<&[String]>,
) -> Markup {
    html! {
        form.filters method="get" action=(action) {
            @if kinds.len() > 1 {
                div {
                    label for="f-kind" { (ctx.t("filter-kind")) }
                    select #f-kind name="kind" {
                        option value="" { (ctx.t("kinds-all")) }
                        @for k in kinds {
                            option value=(k.as_str()) selected[chosen.len() == 1 && chosen[0] == *k] { (view::kind_label(ctx, *k)) }
                        }
                    }
                }
            }
            @if let Some(types) = types {
                div {
                    label for="f-type" { (ctx.t("filter-type")) }
                    input #f-type type="text" name="type" value=(types.join(",")) placeholder="NGO, Cooperative";
                }
            }
            div {
                label for="f-tags" { (ctx.t("filter-tags")) }
                input #f-tags type="text" name="tags" value=(tags.join(",")) placeholder="jardin, vélo";
            }
            button type="submit" { (ctx.t("filter-apply")) }
            a href=(action) { (ctx.t("filter-reset")) }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn list_page(
    which: ListPage,
    ctx: Ctx<'_>,
    cache: &PageCache,
    kind: Option<&str>,
    type_: Option<&str>,
    tags: Option<&str>,
    scope: Option<&str>,
    cursor: Option<&str>,
) -> PageResult {
    require(&ctx, which.module())?;
    let mut kinds = parse_kinds(&ctx, kind)?;
    if let Some(k) = kinds
        .iter()
        .find(|k| !which.kinds().contains(k) || !ctx.hub.kind_on(**k))
    {
        return Err(bad(&ctx, ctx.ta("bad-kind", &[("value", k.as_str().into())])));
    }
    let chosen = kinds.clone();
    if kinds.is_empty() {
        kinds = which.kinds().iter().copied().filter(|k| ctx.hub.kind_on(*k)).collect();
    }
    let tags = parse_tags(tags);
    let scopes = parse_scopes(&ctx, scope)?;
    let cursor = check_cursor(&ctx, cursor)?;
    if let Some(hit) = cache.get(&ctx) {
        return Ok(hit);
    }
    let store = ctx.hub.store.clone();
    let types: Vec<String> = type_
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 64)
        .take(10)
        .map(str::to_owned)
        .collect();
    let query = ListQuery {
        member_of: ctx.reader.member_of.clone(),
        types: types.clone(),
        kinds,
        tags: tags.clone(),
        scopes,
        limit: 24,
        cursor,
        visibility: ctx.reader.visibility(),
    };
    let page_ = load(&ctx, move || store.list_elements(&query)).await?;
    let map_href = format!(
        "/map?from={}{}{}",
        &which.path()[1..],
        if chosen.is_empty() {
            String::new()
        } else {
            format!(
                "&kind={}",
                chosen.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
            )
        },
        if tags.is_empty() {
            String::new()
        } else {
            format!("&tags={}", enc(&tags.join(",")))
        }
    );
    let body = html! {
        h1 { (ctx.t(which.title())) }
        p { (ctx.t(which.intro())) }
        (filters_form(&ctx, which.path(), &which.kinds().iter().copied().filter(|k| ctx.hub.kind_on(*k)).collect::<Vec<_>>(), &chosen, &tags, (which == ListPage::Directory).then_some(types.as_slice())))
        @if ctx.hub.module_on(Module::Map) { p { a.button.secondary href=(map_href) { (ctx.t("show-map")) } } }
        @if which == ListPage::MutualAid {
            (mutual_aid_columns(&ctx, &page_.items))
        } @else if page_.items.is_empty() {
            p.meta { (ctx.t("empty")) }
        } @else {
            h2.visually-hidden { (ctx.t(which.title())) }
            ul.cards { @for e in &page_.items { (card(&ctx, e)) } }
        }
        (view::pager(&ctx, page_.next))
    };
    Ok(cache.put(&ctx, render(&ctx, &ctx.t(which.title()), body)))
}

/// Offers and needs side by side; each with the ones on the other side that share its
/// category or a tag.
fn mutual_aid_columns(ctx: &Ctx<'_>, items: &[Element]) -> Markup {
    let is_need = |e: &Element| matches!(view::text(e, "section"), Some("need") | Some("needs") | Some("besoin"));
    let (needs, offers): (Vec<&Element>, Vec<&Element>) = items.iter().partition(|e| is_need(e));
    let matches = |e: &Element, others: &[&Element]| -> Vec<(String, String)> {
        let cat = view::text(e, "category");
        let tags = view::tags(e);
        others
            .iter()
            .filter(|o| {
                (cat.is_some() && view::text(o, "category") == cat) || view::tags(o).iter().any(|t| tags.contains(t))
            })
            .take(3)
            .map(|o| (view::url(o), view::name(o).to_owned()))
            .collect()
    };
    let column = |title: &str, list: &[&Element], others: &[&Element]| {
        html! {
            section {
                h2 { (title) }
                @if list.is_empty() { p.meta { (ctx.t("empty")) } }
                ul.cards {
                    @for e in list {
                        li.card {
                            h3 { a href=(view::url(e)) { (view::name(e)) } }
                            @if let Some(l) = view::locality(e) { p.meta { (l) } }
                            @if let Some(s) = view::summary(e) { p { (s) } }
                            (view::tag_list(&view::tags(e), 4))
                            @let m = matches(e, others);
                            @if !m.is_empty() {
                                p.meta {
                                    (ctx.ta("mutual-aid-matches", &[("names", "".into())]))
                                    @for (i, (href, name)) in m.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        a href=(href) { (name) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html! {
        div.split {
            (column(&ctx.t("mutual-aid-offers"), &offers, &needs))
            (column(&ctx.t("mutual-aid-needs"), &needs, &offers))
        }
    }
}

#[rocket::get("/directory?<kind>&<type>&<tags>&<scope>&<cursor>")]
#[allow(clippy::too_many_arguments)]
pub async fn directory(
    ctx: Ctx<'_>,
    cache: &State<PageCache>,
    kind: Option<&str>,
    r#type: Option<&str>,
    tags: Option<&str>,
    scope: Option<&str>,
    cursor: Option<&str>,
) -> PageResult {
    list_page(ListPage::Directory, ctx, cache, kind, r#type, tags, scope, cursor).await
}

#[rocket::get("/marketplace?<tags>&<scope>&<cursor>")]
pub async fn marketplace(
    ctx: Ctx<'_>,
    cache: &State<PageCache>,
    tags: Option<&str>,
    scope: Option<&str>,
    cursor: Option<&str>,
) -> PageResult {
    list_page(ListPage::Marketplace, ctx, cache, None, None, tags, scope, cursor).await
}

#[rocket::get("/mutual-aid?<tags>&<scope>&<cursor>")]
pub async fn mutual_aid(
    ctx: Ctx<'_>,
    cache: &State<PageCache>,
    tags: Option<&str>,
    scope: Option<&str>,
    cursor: Option<&str>,
) -> PageResult {
    list_page(ListPage::MutualAid, ctx, cache, None, None, tags, scope, cursor).await
}

/// `/search?q=&kind=&tags=`: the unified search (issue 4's index and ranking).
#[rocket::get("/search?<q>&<kind>&<tags>&<scope>&<page>")]
pub async fn search(
    ctx: Ctx<'_>,
    q: Option<&str>,
    kind: Option<&str>,
    tags: Option<&str>,
    scope: Option<&str>,
    page: Option<&str>,
) -> PageResult {
    require(&ctx, Module::Search)?;
    let text = q.unwrap_or("").trim().to_owned();
    if text.len() > 500 {
        return Err(bad(&ctx, ctx.ta("search-bad", &[("reason", "q > 500".into())])));
    }
    let mut kinds = parse_kinds(&ctx, kind)?;
    if let Some(k) = kinds.iter().find(|k| !ctx.hub.kind_on(**k)) {
        return Err(bad(&ctx, ctx.ta("bad-kind", &[("value", k.as_str().into())])));
    }
    let mut tags = parse_tags(tags);
    let scopes = parse_scopes(&ctx, scope)?;
    let page_no = match page {
        None | Some("") => 0,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| (1..=50).contains(p))
            .map(|p| p - 1)
            .ok_or_else(|| bad(&ctx, ctx.t("bad-cursor")))?,
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let (hashtags, rest): (Vec<&str>, Vec<&str>) = words.iter().partition(|w| w.starts_with('#') && w.len() > 1);
    tags.extend(hashtags.iter().map(|t| model::normalize_tag(t)));
    let form = html! {
        form.filters role="search" method="get" action="/search" {
            div {
                label for="q" { (ctx.t("search-label")) }
                input #q type="search" name="q" value=(text) list="q-suggestions" autocomplete="off";
                datalist #q-suggestions {}
            }
            div {
                label for="f-kind" { (ctx.t("filter-kind")) }
                select #f-kind name="kind" {
                    option value="" { (ctx.t("kinds-all")) }
                    @for k in ctx.hub.kinds_on() {
                        option value=(k.as_str()) selected[kinds.len() == 1 && kinds[0] == k] { (view::kind_label(&ctx, k)) }
                    }
                }
            }
            button type="submit" { (ctx.t("search-button")) }
        }
    };
    if text.is_empty() && tags.is_empty() && kinds.is_empty() {
        let body = html! { h1 { (ctx.t("search-title")) } (form) };
        return Ok(Html::from(render(&ctx, &ctx.t("search-title"), body)));
    }
    let home = territory::home_point(&scopes).or(ctx.hub.identity().home);
    if kinds.is_empty() && ctx.hub.kinds_on().len() < Kind::ALL.len() {
        kinds = ctx.hub.kinds_on();
    }
    let query = SearchQuery {
        text: rest.join(" "),
        kinds,
        tags,
        scopes,
        near: None,
        from: None,
        to: None,
        coming: false,
        limit: 20,
        offset: page_no * 20,
        viewer: crate::api::citizens::search_viewer(&ctx.reader),
        now: model::now_seconds(),
        home,
    };
    let (store, index) = (ctx.hub.store.clone(), ctx.hub.search.clone());
    let (hits, items) = load(&ctx, move || {
        if let Err(e) = index.fresh(&store) {
            tracing::warn!(error = %e, "search index could not catch up");
        }
        let hits = index.search(&query)?;
        let ids: Vec<String> = hits.ids.iter().map(ToString::to_string).collect();
        let items = if query.viewer.all {
            store.get_elements_for_admin(&ids)?
        } else {
            store.get_elements(&ids)?
        };
        Ok((hits, items))
    })
    .await?;
    let more = (page_no + 1) * 20 < hits.total;
    let body = html! {
        h1 { (ctx.t("search-title")) }
        (form)
        p {
            strong { (ctx.ta("search-results", &[("count", (hits.total as i64).into())])) }
            @if !text.is_empty() { " " (ctx.ta("search-for", &[("q", text.as_str().into())])) }
            @if !text.is_empty() && ctx.hub.module_on(Module::Map) { " · " a href={ "/map?from=search&q=" (enc(&text)) } { (ctx.t("show-map")) } }
        }
        @if !hits.kinds.is_empty() {
            details.facets {
                summary { (ctx.t("search-facets-kind")) " · " (ctx.t("search-facets-tags")) }
                ul {
                    @for (k, n) in &hits.kinds {
                        @if let Some(kind) = Kind::parse(k) {
                            li { a href={ "/search?q=" (enc(&text)) "&kind=" (kind.as_str()) } { (view::kind_label(&ctx, kind)) } " (" (ctx.n(*n as i64)) ")" }
                        }
                    }
                }
                (view::tag_list(&hits.tags.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(), 15))
            }
        }
        h2.visually-hidden { (ctx.t("search-title")) }
        ul.cards { @for e in &items { (card(&ctx, e)) } }
        @if more {
            nav.pager { span {} a.button.secondary rel="next" href={ (view::strip_param(&ctx.here, "page")) (if ctx.here.contains('?') { "&" } else { "?" }) "page=" (page_no + 2) } { (ctx.t("next")) " →" } }
        }
    };
    Ok(Html::from(render(&ctx, &ctx.t("search-title"), body)))
}

/// `/territory?q=`: the territory picker (a commune, its department or region).
#[rocket::get("/territory?<q>&<back>")]
pub fn territory_page(ctx: Ctx<'_>, q: Option<&str>, back: Option<&str>) -> Html {
    let back = safe_back(back);
    let q = q.unwrap_or("").trim();
    let found = if q.is_empty() {
        Vec::new()
    } else {
        territory::search_communes(q, 12)
    };
    let set = |scope: String| format!("/territory/set?scope={}&back={}", enc(&scope), enc(&back));
    let identity = ctx.hub.identity();
    let hub_scopes = identity.territories.clone();
    let body = html! {
        h1 { (ctx.t("territory-title")) }
        p { (ctx.t("territory-intro")) }
        form.filters method="get" action="/territory" {
            input type="hidden" name="back" value=(back);
            div {
                label for="t-q" { (ctx.t("territory-query")) }
                input #t-q type="search" name="q" value=(q) autocomplete="off";
            }
            button type="submit" { (ctx.t("territory-find")) }
        }
        @if !q.is_empty() && found.is_empty() { p.notice { (ctx.t("territory-none")) } }
        @if !found.is_empty() {
            h2 { (ctx.t("territory-communes")) }
            ul {
                @for c in &found {
                    li {
                        a href=(set(format!("city:{}", c.insee))) { (c.label()) }
                        @if let Some(d) = territory::department(c.department) {
                            " · " a href=(set(format!("dep:{}", d.code))) { (d.name) " (" (d.code) ")" }
                        }
                        @if let Some(r) = territory::region(c.region) {
                            " · " a href=(set(format!("region:{}", r.code))) { (r.name) }
                        }
                    }
                }
            }
        }
        @if !hub_scopes.is_empty() {
            h2 { (identity.name) }
            ul {
                @for s in &hub_scopes {
                    li { a href=(set(s.to_string())) { (s.label()) } }
                }
            }
        }
        p { a.button.secondary href={ "/territory/set?scope=&back=" (enc(&back)) } { (ctx.t("territory-reset")) } }
    };
    Html::from(render(&ctx, &ctx.t("territory-title"), body))
}

/// Keeps the visitor's territory in a cookie and goes back.
#[rocket::get("/territory/set?<scope>&<back>")]
pub fn territory_set(
    ctx: Ctx<'_>,
    jar: &CookieJar<'_>,
    scope: Option<&str>,
    back: Option<&str>,
) -> Result<Redirect, Failure> {
    let scope = scope.unwrap_or("").trim();
    if scope.is_empty() {
        jar.remove(Cookie::build(SCOPE_COOKIE).path("/"));
    } else {
        let scopes = Scope::parse_list(scope)
            .map_err(|_| bad(&ctx, ctx.ta("bad-scope", &[("value", scope.to_owned().into())])))?;
        let value = scopes.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        jar.add(preference_cookie(SCOPE_COOKIE, value));
    }
    Ok(Redirect::to(safe_back(back)))
}

fn preference_cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .max_age(rocket::time::Duration::days(365))
        .build()
}

/// The language switcher: keeps the choice in a cookie and goes back.
#[rocket::get("/lang/<code>?<back>")]
pub fn lang_set(ctx: Ctx<'_>, jar: &CookieJar<'_>, code: &str, back: Option<&str>) -> Result<Redirect, Failure> {
    let lang = Lang::parse(code)
        .filter(|l| l.code() == code)
        .ok_or_else(|| bad(&ctx, format!("{code}: fr, en, de")))?;
    jar.add(preference_cookie(LANG_COOKIE, lang.code().to_owned()));
    Ok(Redirect::to(safe_back(back)))
}

/// The web app manifest: the hub can be added to a phone's home screen.
#[rocket::get("/manifest.webmanifest")]
pub fn manifest(hub: &State<Hub>) -> (ContentType, String) {
    let identity = hub.identity();
    let body = serde_json::json!({
        "name": identity.name,
        "short_name": identity.name.chars().take(12).collect::<String>(),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b6e4f",
        "lang": "fr",
        "icons": [{"src": super::assets::url("icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    });
    (ContentType::new("application", "manifest+json"), body.to_string())
}

/// The service worker: pages are fetched from the network first and kept, so a phone that
/// left the Wi-Fi shows the pages it saw; assets (hashed names) are kept for good.
#[rocket::get("/sw.js")]
pub fn service_worker() -> (ContentType, String) {
    let css = super::assets::url("copi.css");
    let js = super::assets::url("copi.js");
    let body = format!(
        r#"// CoPi's service worker: network first for pages, cache first for hashed assets.
var CACHE = "copi-v1";
var PRECACHE = ["/", "/offline", "{css}", "{js}"];
self.addEventListener("install", function (e) {{
  e.waitUntil(caches.open(CACHE).then(function (c) {{ return c.addAll(PRECACHE); }}).then(function () {{ return self.skipWaiting(); }}));
}});
self.addEventListener("activate", function (e) {{ e.waitUntil(self.clients.claim()); }});
self.addEventListener("fetch", function (e) {{
  var req = e.request;
  var url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== location.origin) {{ return; }}
  if (url.pathname.indexOf("/static/") === 0) {{
    e.respondWith(caches.match(req).then(function (hit) {{
      return hit || fetch(req).then(function (res) {{
        var copy = res.clone();
        caches.open(CACHE).then(function (c) {{ c.put(req, copy); }});
        return res;
      }});
    }}));
    return;
  }}
  if (url.pathname.indexOf("/api/") === 0 || url.pathname.indexOf("/tiles/") === 0) {{ return; }}
  e.respondWith(fetch(req).then(function (res) {{
    if (res.ok && (res.headers.get("Content-Type") || "").indexOf("text/html") === 0) {{
      var copy = res.clone();
      caches.open(CACHE).then(function (c) {{ c.put(req, copy); }});
    }}
    return res;
  }}).catch(function () {{
    return caches.match(req).then(function (hit) {{ return hit || caches.match("/offline"); }});
  }}));
}});
"#
    );
    (ContentType::JavaScript, body)
}

/// What the service worker shows for a page it never saw, once off the Wi-Fi.
#[rocket::get("/offline")]
pub fn offline(ctx: Ctx<'_>) -> Html {
    // The service worker keeps one copy for every language: it says it in all of them.
    let others: Vec<Lang> = Lang::ALL.into_iter().filter(|l| *l != ctx.lang).collect();
    let body = html! {
        h1 { (ctx.t("offline-title")) }
        p { (ctx.t("offline-text")) }
        @for l in others {
            section lang=(l.code()) {
                h2 { (super::i18n::message(l, "offline-title", None)) }
                p { (super::i18n::message(l, "offline-text", None)) }
            }
        }
    };
    Html::from(render(&ctx, &ctx.t("offline-title"), body))
}
