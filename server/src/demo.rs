//! The demo project: a generated but realistic e-commerce catalog, long-tail queries, the
//! default guideline (LORE's L1-L4 scale) and, for every (query, item) pair, three model
//! chain-of-thought candidates that are usually right and sometimes wrong in a visible step.
//!
//! Everything follows from one seed. Each query comes from an anchor product (the full
//! match) and gets candidates that differ from it in a minor attribute, in a key attribute,
//! or in category, so that every level of the scale occurs. The true label of a pair is
//! what `label_by_guideline` gives, which applies the guideline's rules in order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::{CotRecord, ItemRecord, PairRecord, RuleRecord, ScalePreset, TaskKind};

/// The demo project's data: the default guideline and the pairs to import.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoData {
    /// The default guideline's rules, in the order annotators apply them.
    pub rules: Vec<RuleRecord>,
    /// The (query, item) pairs, grouped by query, each with three CoT candidates.
    pub pairs: Vec<PairRecord>,
}

/// Generates the demo deterministically from `seed`.
pub fn generate(seed: u64) -> DemoData {
    build(seed).0
}

/// The demo's pairs with every pair's true label (what the guideline gives) as its gold
/// label: the fully labelled file that `relabel bench active-learning` simulates
/// annotators from.
pub fn labelled(seed: u64) -> Vec<PairRecord> {
    let (data, needs, pair_need) = build(seed);
    data.pairs
        .into_iter()
        .zip(pair_need)
        .map(|(mut pair, q)| {
            if let Some(need) = needs.get(q) {
                pair.gold_label = Some(
                    label_by_guideline(need, &pair.item)
                        .label
                        .as_str()
                        .to_owned(),
                );
            }
            pair
        })
        .collect()
}

/// Pairs to generate: the loop stops at the first query that reaches this many.
const TARGET_PAIRS: usize = 4_400;
/// Share of pairs that become gold pairs.
const GOLD_SHARE: f64 = 0.07;

// ---------------------------------------------------------------------------------------
// The label scale, attribute dimensions and the guideline
// ---------------------------------------------------------------------------------------

/// LORE's four levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Label {
    L1,
    L2,
    L3,
    L4,
}

impl Label {
    fn as_str(self) -> &'static str {
        match self {
            Self::L1 => "L1",
            Self::L2 => "L2",
            Self::L3 => "L3",
            Self::L4 => "L4",
        }
    }

    fn more_lenient(self) -> Self {
        match self {
            Self::L1 => Self::L2,
            Self::L2 => Self::L3,
            Self::L3 | Self::L4 => Self::L4,
        }
    }

    fn stricter(self) -> Self {
        match self {
            Self::L4 => Self::L3,
            Self::L3 => Self::L2,
            Self::L1 | Self::L2 => Self::L1,
        }
    }
}

/// An attribute dimension a query can state. The declaration order is the guideline's
/// precedence: a map keyed by `Dim` iterates key attributes before minor ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Dim {
    Type,
    Compat,
    Brand,
    Model,
    Audience,
    Size,
    Material,
    Colour,
    Style,
}

impl Dim {
    const ALL: [Dim; 9] = [
        Self::Type,
        Self::Compat,
        Self::Brand,
        Self::Model,
        Self::Audience,
        Self::Size,
        Self::Material,
        Self::Colour,
        Self::Style,
    ];

    /// The item attribute that holds this dimension.
    fn key(self) -> &'static str {
        match self {
            Self::Type => "type",
            Self::Compat => "compatibility",
            Self::Brand => "brand",
            Self::Model => "model",
            Self::Audience => "audience",
            Self::Size => "size",
            Self::Material => "material",
            Self::Colour => "colour",
            Self::Style => "style",
        }
    }

    /// How reasoning text names the dimension.
    fn noun(self) -> &'static str {
        match self {
            Self::Type => "product type",
            Self::Compat => "device",
            other => other.key(),
        }
    }

    /// The rule that governs a difference in this dimension.
    fn rule(self) -> &'static str {
        match self {
            Self::Type => "R-CAT-01",
            Self::Compat => "R-COMPAT-01",
            Self::Brand => "R-BRAND-01",
            Self::Model => "R-MODEL-01",
            Self::Audience => "R-AUD-01",
            Self::Size => "R-SIZE-01",
            Self::Material => "R-MAT-01",
            Self::Colour => "R-COLOR-01",
            Self::Style => "R-IMG-01",
        }
    }

    fn from_placeholder(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.placeholder() == name)
    }

    fn placeholder(self) -> &'static str {
        match self {
            Self::Compat => "compat",
            other => other.key(),
        }
    }
}

/// Whether a difference in `dim` is a key mismatch (L2) rather than a minor one (L3).
fn is_key(dim: Dim, cat: &Category) -> bool {
    match dim {
        Dim::Type | Dim::Compat | Dim::Brand | Dim::Model | Dim::Audience | Dim::Size => true,
        Dim::Material => cat.material_is_key,
        Dim::Colour | Dim::Style => false,
    }
}

const KR: &str = "knowledge-reasoning";
const MM: &str = "multimodal";
#[cfg(test)]
const RA: &str = "rule-adherence";

/// The default guideline, in the format users import (`relabel guideline import`).
const GUIDELINE: &str = include_str!("demo_guideline.toml");

/// The default guideline as rule records, in order: read once from [`GUIDELINE`] by the
/// parser an imported file goes through (a unit test proves it parses).
fn rules() -> &'static [RuleRecord] {
    static RULES: LazyLock<Vec<RuleRecord>> = LazyLock::new(|| {
        let labels: Vec<String> = ScalePreset::Lore4
            .labels()
            .iter()
            .map(|l| (*l).to_owned())
            .collect();
        crate::guideline::parse_on_scale(&labels, "server/src/demo_guideline.toml", GUIDELINE)
            .unwrap_or_else(|e| panic!("the demo's guideline does not parse: {e}"))
    });
    &RULES
}

fn rule_capabilities(key: &str) -> &'static [String] {
    rules()
        .iter()
        .find(|r| r.key == key)
        .map_or(&[], |r| r.capabilities.as_slice())
}

// ---------------------------------------------------------------------------------------
// The catalog specification
// ---------------------------------------------------------------------------------------

/// A leaf category of the catalog and everything needed to generate its products and queries.
struct Category {
    /// Prefix of item ids.
    code: &'static str,
    path: &'static [&'static str],
    types: &'static [ProductType],
    models: &'static [Model],
    /// Colours of models that list none of their own.
    colours: &'static [&'static str],
    audiences: &'static [&'static str],
    /// Materials of models that fix none.
    materials: &'static [&'static str],
    /// Styles of models that fix none.
    styles: &'static [&'static str],
    /// Devices the products fit, in an order where neighbours are easily confused.
    compat: &'static [&'static str],
    material_is_key: bool,
    size_query_prefix: &'static str,
    /// Price increase per step up the size list.
    size_price_step: f64,
    /// Upper bounds of the budget and mid-range price bands.
    price_bands: (f64, f64),
    /// Query templates; `{price}` renders as "under $N".
    templates: &'static [&'static str],
    title: &'static str,
    description: &'static str,
    blurbs: &'static [&'static str],
    accessory_path: &'static [&'static str],
    accessories: &'static [Accessory],
}

/// A product type inside a category.
struct ProductType {
    /// How queries name it, and the `type` attribute.
    noun: &'static str,
    /// Other wordings shoppers use (R-SYN-01).
    synonyms: &'static [&'static str],
    title: &'static str,
    sizes: &'static [&'static str],
}

/// A product line of a brand.
#[derive(Clone, Copy)]
struct Model {
    brand: &'static str,
    name: &'static str,
    /// How shoppers type the model; empty when queries never name it.
    short: &'static str,
    /// Index into the category's types.
    kind: usize,
    price: f64,
    material: Option<&'static str>,
    style: Option<&'static str>,
    colours: &'static [&'static str],
    sizes: &'static [&'static str],
}

const fn m(
    brand: &'static str,
    name: &'static str,
    short: &'static str,
    kind: usize,
    price: f64,
) -> Model {
    Model {
        brand,
        name,
        short,
        kind,
        price,
        material: None,
        style: None,
        colours: &[],
        sizes: &[],
    }
}

impl Model {
    const fn made_of(self, material: &'static str) -> Self {
        Model {
            material: Some(material),
            ..self
        }
    }

    const fn styled(self, style: &'static str) -> Self {
        Model {
            style: Some(style),
            ..self
        }
    }

    const fn in_colours(self, colours: &'static [&'static str]) -> Self {
        Model { colours, ..self }
    }

    const fn in_sizes(self, sizes: &'static [&'static str]) -> Self {
        Model { sizes, ..self }
    }
}

/// An accessory sold for a category's products (R-ACC-01).
struct Accessory {
    brand: &'static str,
    noun: &'static str,
    price: f64,
    /// The product type it fits, or any.
    kind: Option<usize>,
}

const SHOE_SIZES: &[&str] = &[
    "6", "6.5", "7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11", "11.5", "12", "13",
];
const DRESS_SIZES: &[&str] = &["XS", "S", "M", "L", "XL"];
const BED_SIZES: &[&str] = &["Twin", "Full", "Queen", "King", "California King"];

static CATEGORIES: [Category; 7] = [
    Category {
        code: "HP",
        path: &["Electronics", "Audio", "Headphones"],
        types: &[
            ProductType {
                noun: "wireless earbuds",
                synonyms: &[
                    "bluetooth earbuds",
                    "true wireless earbuds",
                    "in-ear headphones",
                ],
                title: "Wireless Noise Cancelling Earbuds",
                sizes: &[],
            },
            ProductType {
                noun: "over-ear headphones",
                synonyms: &["over ear headphones", "around-ear headphones"],
                title: "Wireless Over-Ear Headphones",
                sizes: &[],
            },
        ],
        models: &[
            m("Sony", "WF-1000XM5", "wf-1000xm5", 0, 299.99).in_colours(&["black", "silver"]),
            m("Sony", "WF-1000XM4", "wf-1000xm4", 0, 199.99).in_colours(&["black", "silver"]),
            m("Sony", "WF-C700N", "wf-c700n", 0, 119.99).in_colours(&[
                "black",
                "white",
                "lavender",
                "sage green",
            ]),
            m("Sony", "WH-1000XM5", "wh-1000xm5", 1, 399.99).in_colours(&[
                "black",
                "silver",
                "midnight blue",
            ]),
            m("Sony", "WH-1000XM4", "wh-1000xm4", 1, 349.99).in_colours(&[
                "black",
                "silver",
                "midnight blue",
            ]),
            m("Bose", "QuietComfort Ultra Earbuds", "", 0, 299.0)
                .in_colours(&["black", "white smoke"]),
            m("Bose", "QuietComfort Earbuds II", "", 0, 249.0)
                .in_colours(&["black", "white smoke"]),
            m("Bose", "QuietComfort Ultra Headphones", "", 1, 429.0).in_colours(&[
                "black",
                "white smoke",
                "sandstone",
            ]),
            m("Bose", "QuietComfort 45", "qc45", 1, 329.0).in_colours(&["black", "white smoke"]),
            m("Apple", "AirPods Pro 2", "airpods pro 2", 0, 249.0).in_colours(&["white"]),
            m("Apple", "AirPods 4", "airpods 4", 0, 129.0).in_colours(&["white"]),
            m("Apple", "AirPods Max", "airpods max", 1, 549.0).in_colours(&[
                "midnight",
                "starlight",
                "blue",
                "purple",
                "orange",
            ]),
            m("JBL", "Tune 230NC", "tune 230nc", 0, 99.95)
                .in_colours(&["black", "white", "blue", "sand"]),
            m("JBL", "Live 770NC", "live 770nc", 1, 199.95).in_colours(&["black", "blue", "sand"]),
            m("JBL", "Tune 520BT", "tune 520bt", 1, 49.95)
                .in_colours(&["black", "white", "blue", "purple"]),
            m(
                "Sennheiser",
                "Momentum True Wireless 4",
                "momentum true wireless 4",
                0,
                299.95,
            )
            .in_colours(&["black copper", "metallic silver"]),
            m("Sennheiser", "Momentum 4 Wireless", "momentum 4", 1, 379.95)
                .in_colours(&["black", "white", "denim"]),
            m("Soundcore", "Liberty 4 NC", "liberty 4 nc", 0, 99.99).in_colours(&[
                "black",
                "white",
                "navy blue",
                "light blue",
            ]),
            m("Soundcore", "Space Q45", "space q45", 1, 149.99)
                .in_colours(&["black", "white", "blue"]),
        ],
        colours: &["black", "white", "silver", "blue"],
        audiences: &[],
        materials: &[],
        styles: &[],
        compat: &[],
        material_is_key: false,
        size_query_prefix: "",
        size_price_step: 0.0,
        price_bands: (100.0, 250.0),
        templates: &[
            "{brand} {type}",
            "{colour} {brand} {type}",
            "{brand} {model}",
            "{brand} {model} {colour}",
            "{model} {type}",
            "{colour} {type} under {price}",
            "{brand} {type} under {price}",
            "{colour} {type}",
            "{brand} {model} {colour}",
        ],
        title: "{Brand} {Model} {TypeTitle}",
        description: "{Brand} {Model} {type}.",
        blurbs: &[
            "Up to 30 hours of battery life with quick charge.",
            "Multipoint Bluetooth connects a phone and a laptop at once.",
            "USB-C charging cable included.",
            "Sweat and splash resistant for workouts.",
        ],
        accessory_path: &["Electronics", "Audio", "Headphone Accessories"],
        accessories: &[
            Accessory {
                brand: "Comply",
                noun: "Foam Replacement Ear Tips",
                price: 24.99,
                kind: Some(0),
            },
            Accessory {
                brand: "Wicked Cushions",
                noun: "Replacement Ear Pads",
                price: 29.99,
                kind: Some(1),
            },
            Accessory {
                brand: "Spigen",
                noun: "Silicone Charging Case Cover",
                price: 15.99,
                kind: Some(0),
            },
            Accessory {
                brand: "Geekria",
                noun: "Hard Shell Travel Case",
                price: 19.99,
                kind: Some(1),
            },
        ],
    },
    Category {
        code: "RS",
        path: &["Shoes", "Running"],
        types: &[ProductType {
            noun: "running shoes",
            synonyms: &["running sneakers", "jogging shoes", "runners"],
            title: "Running Shoes",
            sizes: SHOE_SIZES,
        }],
        models: &[
            m("Nike", "Pegasus 41", "pegasus 41", 0, 139.99).styled("road"),
            m("Nike", "Pegasus 40", "pegasus 40", 0, 129.99).styled("road"),
            m("Nike", "Vomero 17", "vomero 17", 0, 159.99).styled("road"),
            m("Nike", "Invincible 3", "invincible 3", 0, 179.99).styled("road"),
            m("Nike", "Pegasus Trail 5", "pegasus trail 5", 0, 149.99).styled("trail"),
            m("Brooks", "Ghost 16", "ghost 16", 0, 139.95).styled("road"),
            m("Brooks", "Ghost 15", "ghost 15", 0, 119.95).styled("road"),
            m("Brooks", "Glycerin 21", "glycerin 21", 0, 159.95).styled("road"),
            m("Brooks", "Cascadia 18", "cascadia 18", 0, 144.95).styled("trail"),
            m("Hoka", "Clifton 9", "clifton 9", 0, 144.99).styled("road"),
            m("Hoka", "Bondi 8", "bondi 8", 0, 164.99).styled("road"),
            m("Hoka", "Speedgoat 6", "speedgoat 6", 0, 154.99).styled("trail"),
            m("ASICS", "Gel-Nimbus 26", "gel-nimbus 26", 0, 159.95).styled("road"),
            m("ASICS", "Gel-Kayano 31", "gel-kayano 31", 0, 164.95).styled("road"),
            m("ASICS", "Novablast 4", "novablast 4", 0, 139.95).styled("road"),
            m("ASICS", "Gel-Trabuco 12", "gel-trabuco 12", 0, 139.95).styled("trail"),
            m("New Balance", "Fresh Foam X 1080v13", "1080v13", 0, 164.99).styled("road"),
            m("New Balance", "FuelCell Rebel v4", "rebel v4", 0, 139.99).styled("road"),
            m(
                "New Balance",
                "Fresh Foam X Hierro v8",
                "hierro v8",
                0,
                149.99,
            )
            .styled("trail"),
            m("Saucony", "Ride 17", "ride 17", 0, 139.95).styled("road"),
            m(
                "Saucony",
                "Endorphin Speed 4",
                "endorphin speed 4",
                0,
                169.95,
            )
            .styled("road"),
            m("Saucony", "Peregrine 14", "peregrine 14", 0, 139.95).styled("trail"),
        ],
        colours: &[
            "black",
            "white",
            "grey",
            "blue",
            "red",
            "pink",
            "volt green",
            "black/white",
        ],
        audiences: &["men", "women"],
        materials: &[],
        styles: &[],
        compat: &[],
        material_is_key: false,
        size_query_prefix: "size ",
        size_price_step: 0.0,
        price_bands: (90.0, 150.0),
        templates: &[
            "{brand} {model} {audience} {size}",
            "{brand} {model}",
            "{audience} {brand} {type}",
            "{colour} {audience} {type}",
            "{audience} {style} {type} {size}",
            "{brand} {style} {type}",
            "{brand} {type} under {price}",
            "{brand} {model} {colour} {audience}",
            "{model} {audience} {size}",
            "{colour} {brand} {model}",
        ],
        title: "{Brand} {Audience} {Model} {Style} {TypeTitle}, Size {Size}",
        description: "The {Brand} {Model} running shoe for {audience}, US size {size}.",
        blurbs: &[
            "Responsive foam cushioning for daily training.",
            "Breathable engineered mesh upper.",
            "Durable rubber outsole for grip on wet roads.",
            "True to size: order your usual running shoe size.",
        ],
        accessory_path: &["Shoes", "Accessories"],
        accessories: &[
            Accessory {
                brand: "Superfeet",
                noun: "Run Comfort Insoles",
                price: 54.99,
                kind: None,
            },
            Accessory {
                brand: "Lock Laces",
                noun: "Elastic No-Tie Shoelaces",
                price: 11.99,
                kind: None,
            },
        ],
    },
    Category {
        code: "CW",
        path: &["Home", "Kitchen", "Cookware"],
        types: &[
            ProductType {
                noun: "skillet",
                synonyms: &["frying pan", "fry pan"],
                title: "Skillet",
                sizes: &["8 inch", "10 inch", "12 inch"],
            },
            ProductType {
                noun: "dutch oven",
                synonyms: &["cocotte", "casserole pot"],
                title: "Dutch Oven",
                sizes: &["3.5 qt", "5.5 qt", "7.25 qt"],
            },
            ProductType {
                noun: "saucepan",
                synonyms: &["sauce pan", "saucepot"],
                title: "Saucepan",
                sizes: &["1.5 qt", "2 qt", "3 qt"],
            },
        ],
        models: &[
            m("Lodge", "Classic Cast Iron Skillet", "", 0, 29.9)
                .made_of("cast iron")
                .in_colours(&["black"]),
            m(
                "Lodge",
                "Chef Collection Cast Iron Skillet",
                "chef collection",
                0,
                39.9,
            )
            .made_of("cast iron")
            .in_colours(&["black"]),
            m("Lodge", "Cast Iron Double Dutch Oven", "", 1, 59.9)
                .made_of("cast iron")
                .in_colours(&["black"]),
            m("Lodge", "Enameled Cast Iron Dutch Oven", "", 1, 79.9)
                .made_of("enameled cast iron")
                .in_colours(&["island spice red", "indigo", "oyster white"]),
            m(
                "Le Creuset",
                "Signature Round Dutch Oven",
                "signature",
                1,
                420.0,
            )
            .made_of("enameled cast iron")
            .in_colours(&["cerise", "flame", "marseille", "white", "oyster"]),
            m(
                "Le Creuset",
                "Signature Cast Iron Skillet",
                "signature",
                0,
                220.0,
            )
            .made_of("enameled cast iron")
            .in_colours(&["cerise", "flame", "marseille", "black onyx"]),
            m(
                "Le Creuset",
                "Tri-Ply Stainless Steel Saucepan",
                "tri-ply",
                2,
                185.0,
            )
            .made_of("stainless steel")
            .in_colours(&["silver"]),
            m("All-Clad", "D3 Stainless Fry Pan", "d3", 0, 119.95)
                .made_of("stainless steel")
                .in_colours(&["silver"]),
            m("All-Clad", "D3 Stainless Saucepan", "d3", 2, 149.95)
                .made_of("stainless steel")
                .in_colours(&["silver"]),
            m(
                "All-Clad",
                "HA1 Hard Anodized Nonstick Fry Pan",
                "ha1",
                0,
                69.95,
            )
            .made_of("nonstick aluminum")
            .in_colours(&["black"]),
            m(
                "T-fal",
                "Ultimate Hard Anodized Nonstick Fry Pan",
                "ultimate",
                0,
                39.99,
            )
            .made_of("nonstick aluminum")
            .in_colours(&["black"]),
            m(
                "T-fal",
                "Ultimate Hard Anodized Saucepan",
                "ultimate",
                2,
                34.99,
            )
            .made_of("nonstick aluminum")
            .in_colours(&["black"]),
            m("Staub", "Round Cocotte", "", 1, 349.95)
                .made_of("enameled cast iron")
                .in_colours(&["cherry", "graphite grey", "dark blue", "basil"]),
            m("Made In", "Blue Carbon Steel Frying Pan", "", 0, 89.0)
                .made_of("carbon steel")
                .in_colours(&["black"]),
            m(
                "Cuisinart",
                "Chef's Classic Stainless Saucepan",
                "chef's classic",
                2,
                39.95,
            )
            .made_of("stainless steel")
            .in_colours(&["silver"]),
            m(
                "Cuisinart",
                "Chef's Classic Nonstick Skillet",
                "chef's classic",
                0,
                29.95,
            )
            .made_of("nonstick aluminum")
            .in_colours(&["black"]),
            m(
                "Cuisinart",
                "Chef's Classic Enameled Dutch Oven",
                "chef's classic",
                1,
                89.95,
            )
            .made_of("enameled cast iron")
            .in_colours(&["cardinal red", "provencal blue"]),
        ],
        colours: &["black", "silver", "red", "blue"],
        audiences: &[],
        materials: &[],
        styles: &[],
        compat: &[],
        material_is_key: true,
        size_query_prefix: "",
        size_price_step: 0.3,
        price_bands: (50.0, 150.0),
        templates: &[
            "{material} {type} {size}",
            "{brand} {material} {type}",
            "{brand} {type} {size}",
            "{colour} {brand} {type}",
            "{material} {type} under {price}",
            "{size} {colour} {type}",
            "{brand} {model} {type} {size}",
            "{colour} {material} {type}",
        ],
        title: "{Brand} {Model}, {Size}",
        description: "{Brand} {Model} made of {material}, {size}.",
        blurbs: &[
            "Oven safe; hand wash recommended.",
            "Works on gas, electric, ceramic and induction hobs.",
            "Even heat for searing and browning.",
            "Lifetime warranty against manufacturing defects.",
        ],
        accessory_path: &["Home", "Kitchen", "Cookware Accessories"],
        accessories: &[
            Accessory {
                brand: "Lodge",
                noun: "Silicone Hot Handle Holder",
                price: 7.99,
                kind: Some(0),
            },
            Accessory {
                brand: "Cook N Home",
                noun: "Tempered Glass Replacement Lid",
                price: 19.99,
                kind: None,
            },
        ],
    },
    Category {
        code: "DR",
        path: &["Clothing", "Women", "Dresses"],
        types: &[
            ProductType {
                noun: "maxi dress",
                synonyms: &["long dress", "floor length dress"],
                title: "Maxi Dress",
                sizes: DRESS_SIZES,
            },
            ProductType {
                noun: "midi dress",
                synonyms: &["tea length dress", "mid length dress"],
                title: "Midi Dress",
                sizes: DRESS_SIZES,
            },
            ProductType {
                noun: "mini dress",
                synonyms: &["short dress"],
                title: "Mini Dress",
                sizes: DRESS_SIZES,
            },
        ],
        models: &[
            m("Reformation", "Juliette", "juliette", 1, 248.0),
            m("Reformation", "Nikita", "nikita", 2, 178.0),
            m("Reformation", "Tagliatelle", "tagliatelle", 0, 278.0),
            m("Free People", "Adella", "adella", 0, 128.0),
            m("Free People", "Sweet Nothing", "", 2, 98.0),
            m("Lulus", "Sunset Stroll", "", 0, 72.0),
            m("Lulus", "Classic Charm", "", 1, 58.0),
            m("J.Crew", "Marina", "", 1, 148.0),
            m("J.Crew", "Isla", "", 2, 98.0),
            m("Anthropologie", "Somerset", "somerset", 0, 168.0),
            m("Amazon Essentials", "Relaxed Fit", "", 1, 29.9),
            m("Hill House", "Nap", "nap", 2, 150.0),
        ],
        colours: &[
            "black",
            "navy",
            "emerald green",
            "red",
            "white",
            "blush pink",
            "floral print",
            "sage green",
        ],
        audiences: &["women"],
        materials: &["linen", "cotton", "silk", "satin", "chiffon", "jersey"],
        styles: &["wrap", "slip", "shirt", "a-line", "smocked"],
        compat: &[],
        material_is_key: false,
        size_query_prefix: "size ",
        size_price_step: 0.0,
        price_bands: (80.0, 180.0),
        templates: &[
            "{colour} {type}",
            "{colour} {style} {type}",
            "{material} {type} {size}",
            "{brand} {type}",
            "{brand} {colour} {type}",
            "{style} {type} under {price}",
            "{material} {style} {type}",
            "{brand} {model} {type} {size}",
            "{audience} {colour} {material} {type}",
        ],
        title: "{Brand} {Model} {Material} {Style} {TypeTitle}, Size {Size}",
        description: "{Brand} {Model} {type} in {material}, size {size}.",
        blurbs: &[
            "Machine wash cold, hang to dry.",
            "Fully lined with adjustable straps.",
            "Model is 5'9\" and wears a size S.",
            "Relaxed fit; size down for a closer fit.",
        ],
        accessory_path: &["Clothing", "Accessories"],
        accessories: &[],
    },
    Category {
        code: "PC",
        path: &["Phones", "Cases"],
        types: &[ProductType {
            noun: "case",
            synonyms: &["cover", "protective case"],
            title: "Case",
            sizes: &[],
        }],
        models: &[
            m("OtterBox", "Defender Series", "defender", 0, 59.95)
                .made_of("polycarbonate")
                .styled("rugged")
                .in_colours(&["black", "blue", "pink"]),
            m("OtterBox", "Symmetry Series", "symmetry", 0, 49.95)
                .made_of("polycarbonate")
                .styled("slim")
                .in_colours(&["black", "clear", "blue", "pink"]),
            m("OtterBox", "Commuter Series", "commuter", 0, 39.95)
                .made_of("tpu")
                .styled("rugged")
                .in_colours(&["black", "blue"]),
            m("Spigen", "Tough Armor", "tough armor", 0, 29.99)
                .made_of("tpu")
                .styled("rugged")
                .in_colours(&["black", "gunmetal", "navy"]),
            m("Spigen", "Ultra Hybrid", "ultra hybrid", 0, 17.99)
                .made_of("polycarbonate")
                .styled("clear")
                .in_colours(&["crystal clear", "frost black", "matte black"]),
            m("Spigen", "Liquid Air", "liquid air", 0, 14.99)
                .made_of("tpu")
                .styled("slim")
                .in_colours(&["matte black", "navy", "green"]),
            m("Spigen", "Wallet S", "wallet s", 0, 24.99)
                .made_of("faux leather")
                .styled("wallet")
                .in_colours(&["black", "brown", "red"]),
            m("Casetify", "Impact Case", "impact", 0, 68.0)
                .made_of("polycarbonate")
                .styled("rugged")
                .in_colours(&["black", "clear", "pink"]),
            m("ESR", "Classic Hybrid", "", 0, 16.99)
                .made_of("tpu")
                .styled("clear")
                .in_colours(&["clear", "frosted black"]),
            m("Mujjo", "Full Leather Wallet", "", 0, 59.9)
                .made_of("leather")
                .styled("wallet")
                .in_colours(&["black", "tan", "monaco blue"]),
            m("Bellroy", "Mod Phone Case", "", 0, 49.0)
                .made_of("leather")
                .styled("slim")
                .in_colours(&["black", "ranger green", "terracotta"]),
            m(
                "Smartish",
                "Wallet Slayer Vol. 1",
                "wallet slayer",
                0,
                24.99,
            )
            .made_of("silicone")
            .styled("wallet")
            .in_colours(&["black", "blue", "red"]),
            m("Smartish", "Gripmunk", "gripmunk", 0, 19.99)
                .made_of("silicone")
                .styled("slim")
                .in_colours(&["black", "sage green", "lilac"]),
        ],
        colours: &["black", "clear", "blue", "pink"],
        audiences: &[],
        materials: &[],
        styles: &[],
        compat: &[
            "iPhone 16 Pro Max",
            "iPhone 16 Pro",
            "iPhone 16",
            "iPhone 15 Pro Max",
            "iPhone 15 Pro",
            "iPhone 15",
            "Galaxy S24 Ultra",
            "Galaxy S24+",
            "Galaxy S24",
            "Pixel 9 Pro XL",
            "Pixel 9 Pro",
            "Pixel 9",
        ],
        material_is_key: false,
        size_query_prefix: "",
        size_price_step: 0.0,
        price_bands: (20.0, 50.0),
        templates: &[
            "{compat} {type}",
            "{brand} {compat} {type}",
            "{colour} {compat} {type}",
            "{compat} {style} {type}",
            "{brand} {model} {compat}",
            "{compat} {material} {type}",
            "{compat} {type} under {price}",
            "{colour} {brand} {model} {compat}",
        ],
        title: "{Brand} {Model} {Style} Case for {Compat}",
        description: "{Brand} {Model} case made of {material}, designed for the {Compat}.",
        blurbs: &[
            "Raised edges protect the screen and camera.",
            "Works with MagSafe and wireless charging.",
            "Drop tested to military standard.",
            "Precise cut-outs for buttons, ports and camera.",
        ],
        accessory_path: &["Phones", "Screen Protectors"],
        accessories: &[
            Accessory {
                brand: "ZAGG",
                noun: "InvisibleShield Glass Elite Screen Protector",
                price: 39.99,
                kind: None,
            },
            Accessory {
                brand: "amFilm",
                noun: "Tempered Glass Screen Protector 3-Pack",
                price: 9.99,
                kind: None,
            },
        ],
    },
    Category {
        code: "OC",
        path: &["Furniture", "Office", "Office Chairs"],
        types: &[
            ProductType {
                noun: "office chair",
                synonyms: &["desk chair", "computer chair", "ergonomic chair"],
                title: "Office Chair",
                sizes: &[],
            },
            ProductType {
                noun: "gaming chair",
                synonyms: &["gamer chair", "racing chair"],
                title: "Gaming Chair",
                sizes: &[],
            },
        ],
        models: &[
            m("Herman Miller", "Aeron", "aeron", 0, 1395.0)
                .made_of("mesh")
                .in_colours(&["graphite", "mineral", "carbon"])
                .in_sizes(&["A", "B", "C"]),
            m("Herman Miller", "Sayl", "sayl", 0, 695.0)
                .made_of("mesh")
                .in_colours(&["black", "white", "alpine"]),
            m("Herman Miller", "Embody", "embody", 0, 1795.0)
                .made_of("fabric")
                .in_colours(&["black", "graphite"]),
            m("Steelcase", "Leap V2", "leap v2", 0, 1299.0)
                .made_of("fabric")
                .in_colours(&["black", "grey", "blue"]),
            m("Steelcase", "Gesture", "gesture", 0, 1449.0)
                .made_of("fabric")
                .in_colours(&["licorice", "graphite"]),
            m("Steelcase", "Series 1", "series 1", 0, 495.0)
                .made_of("mesh")
                .in_colours(&["black", "blue", "grey"]),
            m("HON", "Ignition 2.0", "ignition", 0, 389.0)
                .made_of("mesh")
                .in_colours(&["black", "grey"]),
            m("Branch", "Ergonomic", "", 0, 499.0)
                .made_of("mesh")
                .in_colours(&["black", "grey", "cream"]),
            m("Amazon Basics", "Mid-Back Mesh", "", 0, 79.99)
                .made_of("mesh")
                .in_colours(&["black", "blue"]),
            m("Amazon Basics", "Classic Puresoft Executive", "", 0, 139.99)
                .made_of("leather")
                .in_colours(&["black", "brown"]),
            m("Secretlab", "Titan Evo", "titan evo", 1, 549.0)
                .made_of("leatherette")
                .in_colours(&["black", "charcoal blue", "white"])
                .in_sizes(&["S", "R", "XL"]),
            m("Respawn", "110 Racing Style", "110", 1, 199.99)
                .made_of("leatherette")
                .in_colours(&["black", "red", "blue"]),
            m("Corsair", "TC100 Relaxed", "tc100", 1, 249.99)
                .made_of("fabric")
                .in_colours(&["black", "grey"]),
        ],
        colours: &["black", "grey", "white", "blue"],
        audiences: &[],
        materials: &[],
        styles: &[],
        compat: &[],
        material_is_key: true,
        size_query_prefix: "size ",
        size_price_step: 0.0,
        price_bands: (200.0, 800.0),
        templates: &[
            "{brand} {model} {size}",
            "{material} {type}",
            "{colour} {material} {type}",
            "{brand} {type}",
            "{type} under {price}",
            "{brand} {model} {colour}",
            "{colour} {type}",
            "{brand} {material} {type}",
        ],
        title: "{Brand} {Model} {TypeTitle}{SizePart}",
        description: "{Brand} {Model} {type} with a {material} seat and back.",
        blurbs: &[
            "Adjustable lumbar support and armrests.",
            "Supports up to 300 lb.",
            "Tilt limiter and seat depth adjustment.",
            "Easy assembly in about 20 minutes.",
        ],
        accessory_path: &["Furniture", "Office", "Office Chair Parts"],
        accessories: &[
            Accessory {
                brand: "Office Owl",
                noun: "Rollerblade Replacement Casters (Set of 5)",
                price: 39.99,
                kind: None,
            },
            Accessory {
                brand: "Everlasting Comfort",
                noun: "Memory Foam Seat Cushion",
                price: 34.95,
                kind: None,
            },
        ],
    },
    Category {
        code: "BS",
        path: &["Home", "Bedding", "Sheets & Duvet Covers"],
        types: &[
            ProductType {
                noun: "sheet set",
                synonyms: &["bed sheets", "sheets"],
                title: "Sheet Set",
                sizes: BED_SIZES,
            },
            ProductType {
                noun: "duvet cover",
                synonyms: &["duvet cover set", "comforter cover"],
                title: "Duvet Cover",
                sizes: BED_SIZES,
            },
        ],
        models: &[
            m(
                "Brooklinen",
                "Luxe Sateen Core Sheet Set",
                "luxe sateen",
                0,
                169.0,
            )
            .made_of("cotton sateen"),
            m(
                "Brooklinen",
                "Classic Percale Core Sheet Set",
                "classic percale",
                0,
                149.0,
            )
            .made_of("cotton percale"),
            m("Brooklinen", "Linen Duvet Cover", "", 1, 279.0).made_of("linen"),
            m("Parachute", "Linen Sheet Set", "", 0, 299.0).made_of("linen"),
            m("Parachute", "Percale Duvet Cover", "", 1, 249.0).made_of("cotton percale"),
            m(
                "Boll & Branch",
                "Signature Hemmed Sheet Set",
                "signature hemmed",
                0,
                268.0,
            )
            .made_of("organic cotton"),
            m("Cozy Earth", "Bamboo Sheet Set", "", 0, 299.0).made_of("bamboo viscose"),
            m("Cozy Earth", "Bamboo Duvet Cover", "", 1, 349.0).made_of("bamboo viscose"),
            m("Mellanni", "Microfiber Sheet Set", "", 0, 34.97).made_of("microfiber"),
            m("Amazon Basics", "Microfiber Duvet Cover Set", "", 1, 29.99).made_of("microfiber"),
            m("Bedsure", "Cooling Sheet Set", "", 0, 39.99).made_of("bamboo viscose"),
        ],
        colours: &[
            "white",
            "ivory",
            "light grey",
            "navy",
            "sage green",
            "blush pink",
            "charcoal",
        ],
        audiences: &[],
        materials: &[],
        styles: &[],
        compat: &[],
        material_is_key: false,
        size_query_prefix: "",
        size_price_step: 0.12,
        price_bands: (60.0, 200.0),
        templates: &[
            "{size} {material} {type}",
            "{brand} {type} {size}",
            "{colour} {size} {type}",
            "{material} {type} under {price}",
            "{brand} {material} {type} {size}",
            "{size} {colour} {type}",
            "{colour} {material} {type}",
        ],
        title: "{Brand} {Model}, {Size}",
        description: "{Brand} {Model} in {material}, {size} size.",
        blurbs: &[
            "Deep pockets fit mattresses up to 16 inches.",
            "Gets softer with every wash.",
            "OEKO-TEX certified fabric.",
            "Breathable weave for warm sleepers.",
        ],
        accessory_path: &["Home", "Bedding", "Bedding Accessories"],
        accessories: &[Accessory {
            brand: "Bed Band",
            noun: "Adjustable Sheet Straps (Set of 4)",
            price: 12.99,
            kind: Some(0),
        }],
    },
];

fn allowed_colours(cat: &'static Category, model: &'static Model) -> &'static [&'static str] {
    if model.colours.is_empty() {
        cat.colours
    } else {
        model.colours
    }
}

fn allowed_sizes(cat: &'static Category, model: &'static Model) -> &'static [&'static str] {
    if !model.sizes.is_empty() {
        return model.sizes;
    }
    cat.types.get(model.kind).map_or(&[], |t| t.sizes)
}

/// The list price of `model` in the size at `size_index` of its size list.
fn list_price(cat: &Category, model: &Model, size_index: usize) -> f64 {
    if cat.size_price_step > 0.0 && size_index > 0 {
        let stepped = model.price * (1.0 + cat.size_price_step * size_index as f64);
        stepped.round() - 0.01
    } else {
        model.price
    }
}

// ---------------------------------------------------------------------------------------
// Products and the catalog
// ---------------------------------------------------------------------------------------

/// One sellable product: a model in one colour, size and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Sku {
    cat: usize,
    model: usize,
    colour: &'static str,
    size: Option<&'static str>,
    audience: Option<&'static str>,
    material: Option<&'static str>,
    style: Option<&'static str>,
    compat: Option<&'static str>,
}

impl Sku {
    fn category(&self) -> &'static Category {
        &CATEGORIES[self.cat]
    }

    fn spec(&self) -> &'static Model {
        &self.category().models[self.model]
    }

    fn value(&self, dim: Dim) -> Option<&'static str> {
        let model = self.spec();
        match dim {
            Dim::Type => self.category().types.get(model.kind).map(|t| t.noun),
            Dim::Brand => Some(model.brand),
            Dim::Model => Some(model.name),
            Dim::Colour => Some(self.colour),
            Dim::Size => self.size,
            Dim::Audience => self.audience,
            Dim::Material => self.material,
            Dim::Style => self.style,
            Dim::Compat => self.compat,
        }
    }

    fn size_index(&self) -> usize {
        let sizes = allowed_sizes(self.category(), self.spec());
        self.size
            .and_then(|s| sizes.iter().position(|x| *x == s))
            .unwrap_or(0)
    }

    fn price(&self) -> f64 {
        list_price(self.category(), self.spec(), self.size_index())
    }
}

fn random_sku(cat_index: usize, rng: &mut ChaCha8Rng) -> Sku {
    let cat = &CATEGORIES[cat_index];
    let model_index = rng.random_range(0..cat.models.len());
    let model = &cat.models[model_index];
    Sku {
        cat: cat_index,
        model: model_index,
        colour: allowed_colours(cat, model)
            .choose(rng)
            .copied()
            .unwrap_or("black"),
        size: allowed_sizes(cat, model).choose(rng).copied(),
        audience: cat.audiences.choose(rng).copied(),
        material: model
            .material
            .or_else(|| cat.materials.choose(rng).copied()),
        style: model.style.or_else(|| cat.styles.choose(rng).copied()),
        compat: cat.compat.choose(rng).copied(),
    }
}

/// Every item generated so far; an item id always maps to the same record.
struct Catalog {
    items: Vec<ItemRecord>,
    skus: BTreeMap<Sku, usize>,
    accessories: BTreeMap<(usize, usize, String), usize>,
    products_by_category: Vec<Vec<usize>>,
}

impl Catalog {
    fn new() -> Self {
        Self {
            items: Vec::new(),
            skus: BTreeMap::new(),
            accessories: BTreeMap::new(),
            products_by_category: vec![Vec::new(); CATEGORIES.len()],
        }
    }

    fn next_id(&self, code: &str) -> String {
        format!("{code}-{:05}", 10_001 + self.items.len())
    }

    fn product(&mut self, sku: Sku, rng: &mut ChaCha8Rng) -> usize {
        if let Some(&index) = self.skus.get(&sku) {
            return index;
        }
        let index = self.items.len();
        let id = self.next_id(sku.category().code);
        self.items.push(product_item(id, &sku, rng));
        self.skus.insert(sku, index);
        if let Some(list) = self.products_by_category.get_mut(sku.cat) {
            list.push(index);
        }
        index
    }

    fn accessory(
        &mut self,
        cat_index: usize,
        accessory: usize,
        fits: String,
        rng: &mut ChaCha8Rng,
    ) -> usize {
        let key = (cat_index, accessory, fits);
        if let Some(&index) = self.accessories.get(&key) {
            return index;
        }
        let cat = &CATEGORIES[cat_index];
        let index = self.items.len();
        let id = self.next_id(&format!("{}A", cat.code));
        let item = accessory_item(id, cat, &cat.accessories[accessory], &key.2, rng);
        self.items.push(item);
        self.accessories.insert(key, index);
        index
    }
}

fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// Fills `{name}` placeholders; `None` from `value` makes the whole rendering `None`.
fn render(template: &str, mut value: impl FnMut(&str) -> Option<String>) -> Option<String> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}')?;
        out.push_str(&value(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Placeholder values for titles (capitalised names) and descriptions (lower-case names).
fn product_text(key: &str, sku: &Sku, show_style: bool) -> String {
    let cat = sku.category();
    let model = sku.spec();
    let kind = cat.types.get(model.kind);
    match key {
        "Brand" => model.brand.to_owned(),
        "Model" => model.name.to_owned(),
        "TypeTitle" => kind.map_or("", |t| t.title).to_owned(),
        "Audience" => match sku.audience {
            Some("men") => "Men's".to_owned(),
            Some("women") => "Women's".to_owned(),
            other => other.map(title_case).unwrap_or_default(),
        },
        "Style" if show_style => sku.style.map(title_case).unwrap_or_default(),
        "Material" => sku.material.map(title_case).unwrap_or_default(),
        "Size" => sku.size.map(title_case).unwrap_or_default(),
        "SizePart" => sku.size.map(|s| format!(", Size {s}")).unwrap_or_default(),
        "Compat" => sku.compat.unwrap_or_default().to_owned(),
        "type" => kind.map_or("", |t| t.noun).to_owned(),
        "audience" => sku.audience.unwrap_or_default().to_owned(),
        "material" => sku.material.unwrap_or_default().to_owned(),
        "size" => sku.size.unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

fn price_band(cat: &Category, price: f64) -> &'static str {
    if price < cat.price_bands.0 {
        "budget"
    } else if price < cat.price_bands.1 {
        "mid-range"
    } else {
        "premium"
    }
}

fn image_urls(id: &str, rng: &mut ChaCha8Rng) -> Vec<String> {
    let count = rng.random_range(1..=3);
    (1..=count)
        .map(|n| format!("https://images.example.com/{id}/{n}.jpg"))
        .collect()
}

fn product_item(id: String, sku: &Sku, rng: &mut ChaCha8Rng) -> ItemRecord {
    let cat = sku.category();
    let model = sku.spec();
    // Some listings leave colour or style to the photos: those pairs need the images.
    let show_colour = rng.random_bool(0.7);
    let show_style = rng.random_bool(0.75);
    let mut title =
        render(cat.title, |k| Some(product_text(k, sku, show_style))).unwrap_or_default();
    if show_colour {
        title.push_str(" - ");
        title.push_str(&title_case(sku.colour));
    }
    let mut description =
        render(cat.description, |k| Some(product_text(k, sku, show_style))).unwrap_or_default();
    if show_colour {
        description.push_str(&format!(" Colour: {}.", title_case(sku.colour)));
    }
    if let Some(blurb) = cat.blurbs.choose(rng) {
        description.push(' ');
        description.push_str(blurb);
    }
    let price = sku.price();
    let mut attributes = BTreeMap::new();
    for dim in Dim::ALL {
        if let Some(v) = sku.value(dim) {
            attributes.insert(dim.key().to_owned(), v.to_owned());
        }
    }
    let prefix: String = model
        .brand
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(2)
        .collect::<String>()
        .to_uppercase();
    let style_number = 1_000 + (sku.model * 7_919 + sku.cat * 104_729) % 9_000;
    let colour_code = allowed_colours(cat, model)
        .iter()
        .position(|c| *c == sku.colour)
        .unwrap_or(0);
    attributes.insert(
        "model_number".to_owned(),
        format!("{prefix}{style_number}-{:03}", 10 * colour_code + 1),
    );
    attributes.insert("price_band".to_owned(), price_band(cat, price).to_owned());
    ItemRecord {
        images: image_urls(&id, rng),
        id,
        title,
        category: cat.path.iter().map(|s| (*s).to_owned()).collect(),
        attributes,
        price: Some(price),
        description: Some(description),
    }
}

fn accessory_item(
    id: String,
    cat: &Category,
    accessory: &Accessory,
    fits: &str,
    rng: &mut ChaCha8Rng,
) -> ItemRecord {
    let mut attributes = BTreeMap::new();
    attributes.insert("brand".to_owned(), accessory.brand.to_owned());
    attributes.insert("type".to_owned(), accessory.noun.to_lowercase());
    attributes.insert("accessory_for".to_owned(), fits.to_owned());
    attributes.insert("price_band".to_owned(), "budget".to_owned());
    ItemRecord {
        images: image_urls(&id, rng),
        title: format!("{} {} for {fits}", accessory.brand, accessory.noun),
        category: cat.accessory_path.iter().map(|s| (*s).to_owned()).collect(),
        attributes,
        price: Some(accessory.price),
        description: Some(format!(
            "{} made by {} to fit the {fits}. Sold separately: the {fits} itself is not included.",
            accessory.noun, accessory.brand
        )),
        id,
    }
}

// ---------------------------------------------------------------------------------------
// Queries and candidate items
// ---------------------------------------------------------------------------------------

/// What a query asks for: the attributes it states, with the values items must carry.
#[derive(Debug, Clone)]
struct QueryNeed {
    cat: usize,
    text: String,
    stated: BTreeMap<Dim, &'static str>,
    price_max: Option<f64>,
    /// The wording used for the product type when it is a synonym.
    synonym: Option<&'static str>,
}

const PRICE_CAPS: [f64; 19] = [
    15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 75.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0,
    500.0, 750.0, 1000.0, 1500.0, 2000.0,
];

fn price_cap(price: f64) -> f64 {
    PRICE_CAPS
        .into_iter()
        .find(|cap| *cap > price)
        .unwrap_or(5000.0)
}

/// Writes a query for `anchor` from one of its category's templates.
fn compose_query(anchor: &Sku, rng: &mut ChaCha8Rng) -> Option<QueryNeed> {
    let cat = anchor.category();
    let mut order: Vec<usize> = (0..cat.templates.len()).collect();
    order.shuffle(rng);
    order
        .into_iter()
        .find_map(|t| query_from_template(cat.templates[t], anchor, rng))
}

fn query_from_template(template: &str, anchor: &Sku, rng: &mut ChaCha8Rng) -> Option<QueryNeed> {
    let cat = anchor.category();
    let model = anchor.spec();
    let kind = cat.types.get(model.kind)?;
    let mut stated = BTreeMap::new();
    let mut price_max = None;
    let mut synonym = None;
    let text = render(template, |name| match name {
        "price" => {
            let cap = price_cap(anchor.price());
            price_max = Some(cap);
            Some(format!("${cap:.0}"))
        }
        "type" => {
            stated.insert(Dim::Type, kind.noun);
            if rng.random_bool(0.25)
                && let Some(word) = kind.synonyms.choose(rng)
            {
                synonym = Some(*word);
                Some((*word).to_owned())
            } else {
                Some(kind.noun.to_owned())
            }
        }
        "model" if model.short.is_empty() => None,
        "model" => {
            stated.insert(Dim::Model, model.name);
            Some(model.short.to_owned())
        }
        "size" => {
            let size = anchor.size?;
            stated.insert(Dim::Size, size);
            Some(format!("{}{}", cat.size_query_prefix, size.to_lowercase()))
        }
        "audience" => {
            let audience = anchor.audience?;
            stated.insert(Dim::Audience, audience);
            let spellings: &[&str] = match audience {
                "men" => &["mens", "men's"],
                "women" => &["womens", "women's"],
                _ => &[],
            };
            Some(
                spellings
                    .choose(rng)
                    .copied()
                    .unwrap_or(audience)
                    .to_owned(),
            )
        }
        other => {
            let dim = Dim::from_placeholder(other)?;
            let value = anchor.value(dim)?;
            stated.insert(dim, value);
            Some(value.to_lowercase())
        }
    })?;
    // A model implies its product type even when the query does not spell it out.
    stated.entry(Dim::Type).or_insert(kind.noun);
    Some(QueryNeed {
        cat: anchor.cat,
        text: text.to_lowercase(),
        stated,
        price_max,
        synonym,
    })
}

/// A value of `values` other than `current`; with `prefer_near`, often a neighbour in the
/// list (an adjacent size, a sibling phone), which makes the difference subtle.
fn other_value(
    values: &'static [&'static str],
    current: Option<&str>,
    prefer_near: bool,
    rng: &mut ChaCha8Rng,
) -> Option<&'static str> {
    let position = current.and_then(|c| values.iter().position(|v| *v == c));
    if prefer_near
        && let Some(p) = position
        && rng.random_bool(0.5)
    {
        let near: Vec<&'static str> = [p.checked_sub(1), Some(p + 1)]
            .into_iter()
            .flatten()
            .filter_map(|i| values.get(i).copied())
            .collect();
        if let Some(v) = near.choose(rng) {
            return Some(*v);
        }
    }
    let others: Vec<&'static str> = values
        .iter()
        .copied()
        .filter(|v| Some(*v) != current)
        .collect();
    others.choose(rng).copied()
}

/// How well a switch to `other` keeps what the query states (`keep`, apart from `changing`).
fn keep_score(anchor: &Model, other: &Model, keep: &BTreeSet<Dim>, changing: Option<Dim>) -> u32 {
    let mut score = 0;
    for &dim in keep {
        if Some(dim) == changing {
            continue;
        }
        let same = match dim {
            Dim::Brand => other.brand == anchor.brand,
            Dim::Model => other.name == anchor.name,
            Dim::Type => other.kind == anchor.kind,
            Dim::Material => anchor.material.is_none() || other.material == anchor.material,
            Dim::Style => anchor.style.is_none() || other.style == anchor.style,
            Dim::Compat | Dim::Audience | Dim::Size | Dim::Colour => true,
        };
        if same {
            score += 2;
        }
    }
    // Sibling lines of the same brand are the realistic near misses.
    if other.brand == anchor.brand {
        score += 1;
    }
    score
}

/// The same product as `anchor` but of model `model_index`, keeping colour and size when
/// the new model offers them.
fn rebase(anchor: &Sku, model_index: usize, rng: &mut ChaCha8Rng) -> Sku {
    let cat = anchor.category();
    let model = &cat.models[model_index];
    let colours = allowed_colours(cat, model);
    let colour = if colours.contains(&anchor.colour) {
        anchor.colour
    } else {
        colours.choose(rng).copied().unwrap_or(anchor.colour)
    };
    let sizes = allowed_sizes(cat, model);
    let size = match anchor.size {
        Some(s) if sizes.contains(&s) => Some(s),
        _ => sizes.choose(rng).copied(),
    };
    Sku {
        model: model_index,
        colour,
        size,
        material: model.material.or(if cat.materials.is_empty() {
            None
        } else {
            anchor.material
        }),
        style: model.style.or(if cat.styles.is_empty() {
            None
        } else {
            anchor.style
        }),
        ..*anchor
    }
}

fn best_model(
    anchor: &Sku,
    candidates: impl Iterator<Item = usize>,
    keep: &BTreeSet<Dim>,
    changing: Option<Dim>,
    rng: &mut ChaCha8Rng,
) -> Option<usize> {
    let cat = anchor.category();
    let current = anchor.spec();
    let scored: Vec<(usize, u32)> = candidates
        .map(|i| (i, keep_score(current, &cat.models[i], keep, changing)))
        .collect();
    let best = scored.iter().map(|s| s.1).max()?;
    let top: Vec<usize> = scored.iter().filter(|s| s.1 == best).map(|s| s.0).collect();
    top.choose(rng).copied()
}

/// A product like `anchor` that differs in `dim` and keeps the other stated attributes
/// where the catalog allows.
fn vary(anchor: &Sku, dim: Dim, keep: &BTreeSet<Dim>, rng: &mut ChaCha8Rng) -> Option<Sku> {
    let cat = anchor.category();
    let model = anchor.spec();
    match dim {
        Dim::Colour => other_value(allowed_colours(cat, model), Some(anchor.colour), false, rng)
            .map(|colour| Sku { colour, ..*anchor }),
        Dim::Size => other_value(allowed_sizes(cat, model), anchor.size, true, rng).map(|s| Sku {
            size: Some(s),
            ..*anchor
        }),
        Dim::Audience => other_value(cat.audiences, anchor.audience, false, rng).map(|a| Sku {
            audience: Some(a),
            ..*anchor
        }),
        Dim::Compat => other_value(cat.compat, anchor.compat, true, rng).map(|c| Sku {
            compat: Some(c),
            ..*anchor
        }),
        Dim::Material if model.material.is_none() => {
            other_value(cat.materials, anchor.material, false, rng).map(|v| Sku {
                material: Some(v),
                ..*anchor
            })
        }
        Dim::Style if model.style.is_none() => other_value(cat.styles, anchor.style, false, rng)
            .map(|v| Sku {
                style: Some(v),
                ..*anchor
            }),
        Dim::Brand | Dim::Model | Dim::Type | Dim::Material | Dim::Style => {
            let qualifies = |other: &Model| match dim {
                Dim::Brand => other.brand != model.brand && other.kind == model.kind,
                Dim::Model => other.name != model.name && other.kind == model.kind,
                Dim::Type => other.kind != model.kind,
                Dim::Material => other.material != model.material && other.kind == model.kind,
                _ => other.style != model.style && other.kind == model.kind,
            };
            let candidates = (0..cat.models.len()).filter(|&i| qualifies(&cat.models[i]));
            let chosen = best_model(anchor, candidates, keep, Some(dim), rng)?;
            Some(rebase(anchor, chosen, rng))
        }
    }
}

/// A product like `anchor` that keeps the stated attributes but costs more than `cap`.
fn pricier(anchor: &Sku, cap: f64, keep: &BTreeSet<Dim>, rng: &mut ChaCha8Rng) -> Option<Sku> {
    let cat = anchor.category();
    let kind = anchor.spec().kind;
    let over = (0..cat.models.len()).filter(|&i| {
        let model = &cat.models[i];
        let size_index = anchor
            .size
            .and_then(|s| allowed_sizes(cat, model).iter().position(|x| *x == s))
            .unwrap_or(0);
        model.kind == kind && list_price(cat, model, size_index) > cap
    });
    let chosen = best_model(anchor, over, keep, None, rng)?;
    Some(rebase(anchor, chosen, rng))
}

fn push_unique(list: &mut Vec<usize>, index: usize) {
    if !list.contains(&index) {
        list.push(index);
    }
}

/// The items a query is paired with: the anchor (full match), sometimes a variant in an
/// attribute the query does not state, variants in stated minor and key attributes, an
/// item from another category and sometimes an accessory.
fn candidate_items(
    need: &QueryNeed,
    anchor: &Sku,
    catalog: &mut Catalog,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let cat = anchor.category();
    let keep: BTreeSet<Dim> = need.stated.keys().copied().collect();
    let mut picked = Vec::new();
    push_unique(&mut picked, catalog.product(*anchor, rng));

    if rng.random_bool(0.5) {
        let unstated: Vec<Dim> = Dim::ALL
            .into_iter()
            .filter(|d| !keep.contains(d) && anchor.value(*d).is_some())
            .collect();
        if let Some(&dim) = unstated.choose(rng)
            && let Some(sku) = vary(anchor, dim, &keep, rng)
        {
            push_unique(&mut picked, catalog.product(sku, rng));
        }
    }

    // `None` stands for the price limit.
    let mut minor: Vec<Option<Dim>> = keep
        .iter()
        .filter(|d| !is_key(**d, cat))
        .map(|d| Some(*d))
        .collect();
    if need.price_max.is_some() {
        minor.push(None);
    }
    minor.shuffle(rng);
    let minor_count = if minor.is_empty() {
        0
    } else {
        rng.random_range(1..=2)
    };
    for dim in minor.iter().cycle().take(minor_count) {
        let sku = match (dim, need.price_max) {
            (Some(d), _) => vary(anchor, *d, &keep, rng),
            (None, Some(cap)) => pricier(anchor, cap, &keep, rng),
            (None, None) => None,
        };
        if let Some(sku) = sku {
            push_unique(&mut picked, catalog.product(sku, rng));
        }
    }

    let mut key: Vec<Dim> = keep.iter().copied().filter(|d| is_key(*d, cat)).collect();
    key.shuffle(rng);
    let key_count = rng.random_range(2..=3);
    for &dim in key.iter().cycle().take(key_count) {
        if let Some(sku) = vary(anchor, dim, &keep, rng) {
            push_unique(&mut picked, catalog.product(sku, rng));
        }
    }

    let other = (anchor.cat + rng.random_range(1..CATEGORIES.len())) % CATEGORIES.len();
    let reuse = catalog
        .products_by_category
        .get(other)
        .and_then(|list| list.choose(rng).copied());
    let off_category = match reuse {
        Some(index) if rng.random_bool(0.6) => index,
        _ => catalog.product(random_sku(other, rng), rng),
    };
    push_unique(&mut picked, off_category);

    if rng.random_bool(0.35) {
        let model = anchor.spec();
        let fitting: Vec<usize> = (0..cat.accessories.len())
            .filter(|&i| cat.accessories[i].kind.is_none_or(|k| k == model.kind))
            .collect();
        if let Some(&accessory) = fitting.choose(rng) {
            let fits = match anchor.compat {
                Some(device) => device.to_owned(),
                None => format!("{} {}", model.brand, model.name),
            };
            push_unique(
                &mut picked,
                catalog.accessory(anchor.cat, accessory, fits, rng),
            );
        }
    }

    picked.shuffle(rng);
    picked
}

// ---------------------------------------------------------------------------------------
// The guideline applied
// ---------------------------------------------------------------------------------------

/// What decided a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Accessory,
    Category,
    Attribute(Dim),
    Price,
    Synonym,
    FullMatch,
}

/// A label and the rule that gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdict {
    label: Label,
    rule: &'static str,
    cause: Cause,
}

fn attr<'a>(item: &'a ItemRecord, key: &str) -> &'a str {
    item.attributes.get(key).map_or("none", String::as_str)
}

fn same_value(dim: Dim, wanted: &str, have: &str) -> bool {
    wanted.eq_ignore_ascii_case(have)
        || (dim == Dim::Audience && have.eq_ignore_ascii_case("unisex"))
}

fn in_category(item: &ItemRecord, cat: &Category) -> bool {
    item.category.len() == cat.path.len() && item.category.iter().zip(cat.path).all(|(a, b)| a == b)
}

/// The label the default guideline gives `item` for `need`: accessories and other
/// categories are L1; else the first differing key attribute (in rule order) gives L2, the
/// first differing minor attribute or an exceeded price limit L3, and a full match L4.
fn label_by_guideline(need: &QueryNeed, item: &ItemRecord) -> Verdict {
    let cat = &CATEGORIES[need.cat];
    let verdict = |label, rule, cause| Verdict { label, rule, cause };
    if item.attributes.contains_key("accessory_for") {
        return verdict(Label::L1, "R-ACC-01", Cause::Accessory);
    }
    if !in_category(item, cat) {
        return verdict(Label::L1, "R-CAT-01", Cause::Category);
    }
    let differs = |dim: Dim, wanted: &str| {
        !item
            .attributes
            .get(dim.key())
            .is_some_and(|have| same_value(dim, wanted, have))
    };
    for (&dim, &wanted) in &need.stated {
        if is_key(dim, cat) && differs(dim, wanted) {
            return verdict(Label::L2, dim.rule(), Cause::Attribute(dim));
        }
    }
    for (&dim, &wanted) in &need.stated {
        if !is_key(dim, cat) && differs(dim, wanted) {
            return verdict(Label::L3, dim.rule(), Cause::Attribute(dim));
        }
    }
    if let (Some(cap), Some(price)) = (need.price_max, item.price)
        && price > cap
    {
        return verdict(Label::L3, "R-PRICE-01", Cause::Price);
    }
    if need.synonym.is_some() {
        verdict(Label::L4, "R-SYN-01", Cause::Synonym)
    } else {
        verdict(Label::L4, "R-FULL-01", Cause::FullMatch)
    }
}

/// The size list of the category that holds both sizes, if any.
fn size_list_with(cat: &'static Category, a: &str, b: &str) -> Option<&'static [&'static str]> {
    let mut lists = cat
        .types
        .iter()
        .map(|t| t.sizes)
        .chain(cat.models.iter().map(|m| m.sizes));
    lists.find(|l| l.contains(&a) && l.contains(&b))
}

fn neighbours(list: &[&str], a: &str, b: &str, distance: usize) -> bool {
    match (
        list.iter().position(|x| *x == a),
        list.iter().position(|x| *x == b),
    ) {
        (Some(i), Some(j)) => i.abs_diff(j) <= distance,
        _ => false,
    }
}

/// Whether two model names belong to one product line (*Pegasus 41* and *Pegasus 40*,
/// *WF-1000XM5* and *WF-1000XM4*).
fn same_line(a: &str, b: &str) -> bool {
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    a.split(' ').next() == b.split(' ').next() || common >= 6
}

/// Whether the difference that decides the label is subtle: an adjacent size or sibling
/// device, the previous generation of a model, a colour or style seen only in the images,
/// a price just over the limit, an accessory naming the product, or a synonym.
fn is_hard(need: &QueryNeed, item: &ItemRecord, verdict: Verdict) -> bool {
    let cat = &CATEGORIES[need.cat];
    match verdict.cause {
        Cause::Accessory | Cause::Synonym => true,
        Cause::Category | Cause::FullMatch => false,
        Cause::Price => match (need.price_max, item.price) {
            (Some(cap), Some(price)) => price <= cap * 1.15,
            _ => false,
        },
        Cause::Attribute(dim) => {
            let wanted = need.stated.get(&dim).copied().unwrap_or_default();
            let have = attr(item, dim.key());
            match dim {
                Dim::Size => size_list_with(cat, wanted, have)
                    .is_some_and(|list| neighbours(list, wanted, have, 1)),
                Dim::Compat => {
                    neighbours(cat.compat, wanted, have, 2)
                        && wanted.split(' ').next() == have.split(' ').next()
                }
                // The previous or next generation of the same line, not another line.
                Dim::Model => cat
                    .models
                    .iter()
                    .find(|m| m.name == wanted)
                    .is_some_and(|m| m.brand == attr(item, "brand") && same_line(wanted, have)),
                Dim::Material => wanted.contains(have) || have.contains(wanted),
                Dim::Colour | Dim::Style => !item.title.to_lowercase().contains(have),
                Dim::Type | Dim::Brand | Dim::Audience => false,
            }
        }
    }
}

/// Capability tags (from the deciding rule and the attributes the query states), plus
/// `hard` for subtle pairs; sorted as the importer stores them.
fn pair_tags(need: &QueryNeed, verdict: Verdict, hard: bool) -> Vec<String> {
    let mut tags: BTreeSet<&str> = rule_capabilities(verdict.rule)
        .iter()
        .map(String::as_str)
        .collect();
    if need.stated.contains_key(&Dim::Colour) || need.stated.contains_key(&Dim::Style) {
        tags.insert(MM);
    }
    if need.stated.contains_key(&Dim::Model) || need.stated.contains_key(&Dim::Compat) {
        tags.insert(KR);
    }
    if hard {
        tags.insert("hard");
    }
    tags.into_iter().map(str::to_owned).collect()
}

// ---------------------------------------------------------------------------------------
// Chain-of-thought candidates
// ---------------------------------------------------------------------------------------

/// A model that writes CoT candidates, its phrasing and how often it is right.
struct Voice {
    model: &'static str,
    ok: &'static str,
    bad: &'static str,
    easy_accuracy: f64,
    hard_accuracy: f64,
}

const VOICES: [Voice; 3] = [
    Voice {
        model: "lore-7b-v3",
        ok: "✓",
        bad: "✗",
        easy_accuracy: 0.97,
        hard_accuracy: 0.80,
    },
    Voice {
        model: "lore-7b-v2",
        ok: "(match)",
        bad: "(mismatch)",
        easy_accuracy: 0.93,
        hard_accuracy: 0.66,
    },
    Voice {
        model: "qwen-14b-cot",
        ok: "-> matches",
        bad: "-> differs",
        easy_accuracy: 0.94,
        hard_accuracy: 0.72,
    },
];

/// How a wrong candidate goes wrong; each shows in one step of its reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mistake {
    /// Claims a stated attribute matches when it differs (in "Attribute match").
    Overlooks(Dim),
    /// Ignores the price limit (in "Attribute match").
    OverlooksPrice,
    /// Misreads a matching attribute as another value (in "Attribute match").
    Misreads(Dim, &'static str),
    /// Applies the deciding rule one level too leniently (in "Rule check").
    TooLenient,
    /// Applies the deciding rule one level too strictly (in "Rule check").
    TooStrict,
}

/// A plausible wrong value for a matching attribute: another colour from the palette,
/// an adjacent size, a sibling device.
fn misread_value(
    cat: &'static Category,
    dim: Dim,
    value: &str,
    rng: &mut ChaCha8Rng,
) -> Option<&'static str> {
    match dim {
        Dim::Colour => other_value(cat.colours, Some(value), false, rng),
        Dim::Size => {
            let list = size_list_with(cat, value, value)?;
            let p = list.iter().position(|x| *x == value)?;
            let near: Vec<&'static str> = [p.checked_sub(1), Some(p + 1)]
                .into_iter()
                .flatten()
                .filter_map(|i| list.get(i).copied())
                .collect();
            near.choose(rng).copied()
        }
        Dim::Compat => {
            let p = cat.compat.iter().position(|x| *x == value)?;
            let near: Vec<&'static str> = [p.checked_sub(1), Some(p + 1)]
                .into_iter()
                .flatten()
                .filter_map(|i| cat.compat.get(i).copied())
                .collect();
            near.choose(rng).copied()
        }
        _ => None,
    }
}

fn choose_mistake(need: &QueryNeed, truth: Verdict, rng: &mut ChaCha8Rng) -> Mistake {
    let roll: f64 = rng.random();
    match truth.cause {
        Cause::Accessory | Cause::Category => Mistake::TooLenient,
        Cause::Attribute(dim) if truth.label == Label::L2 => {
            if roll < 0.5 {
                Mistake::Overlooks(dim)
            } else if roll < 0.85 {
                Mistake::TooLenient
            } else {
                Mistake::TooStrict
            }
        }
        Cause::Attribute(dim) => {
            if roll < 0.6 {
                Mistake::Overlooks(dim)
            } else {
                Mistake::TooStrict
            }
        }
        Cause::Price => {
            if roll < 0.6 {
                Mistake::OverlooksPrice
            } else {
                Mistake::TooStrict
            }
        }
        Cause::Synonym | Cause::FullMatch => {
            let cat = &CATEGORIES[need.cat];
            let misreads: Vec<Mistake> = need
                .stated
                .iter()
                .filter_map(|(&dim, &value)| {
                    misread_value(cat, dim, value, rng).map(|w| Mistake::Misreads(dim, w))
                })
                .collect();
            match misreads.choose(rng) {
                Some(m) if roll < 0.6 => *m,
                _ => Mistake::TooStrict,
            }
        }
    }
}

fn leaf(path: &[String]) -> &str {
    path.last().map_or("", String::as_str)
}

fn need_type(need: &QueryNeed) -> &'static str {
    need.stated.get(&Dim::Type).copied().unwrap_or("product")
}

/// Why `verdict` follows for `item`, as the rest of a "Rule check" step.
fn explain(need: &QueryNeed, item: &ItemRecord, verdict: Verdict) -> String {
    let cat = &CATEGORIES[need.cat];
    let label = verdict.label.as_str();
    match verdict.cause {
        Cause::Accessory => format!(
            "the item is {} for the {}, an accessory and not the {} the query asks for, so {label}.",
            attr(item, "type"),
            attr(item, "accessory_for"),
            need_type(need)
        ),
        Cause::Category => format!(
            "the item is from {}, not {}; another category does not meet the need, so {label}.",
            leaf(&item.category),
            cat.path.last().copied().unwrap_or_default()
        ),
        Cause::Attribute(Dim::Type) => format!(
            "the category is right, but the item is {}, not the {} the query asks for; a \
             different product type is a key mismatch, so {label}.",
            attr(item, "type"),
            need_type(need)
        ),
        Cause::Attribute(dim) => {
            let wanted = need.stated.get(&dim).copied().unwrap_or_default();
            let have = attr(item, dim.key());
            let noun = dim.noun();
            if is_key(dim, cat) {
                format!(
                    "the query asks for {noun} {wanted} and the item has {have}; the {noun} is a \
                     key attribute, so {label}."
                )
            } else {
                format!(
                    "only the {noun} differs ({wanted} asked, {have} on the item); the core need \
                     is met, so {label}."
                )
            }
        }
        Cause::Price => format!(
            "the item costs ${:.2}, over the ${:.0} limit; the need is met but not the budget, \
             so {label}.",
            item.price.unwrap_or_default(),
            need.price_max.unwrap_or_default()
        ),
        Cause::Synonym => format!(
            "\"{}\" names the same product as \"{}\" and every stated attribute matches, so \
             {label}.",
            need.synonym.unwrap_or_default(),
            need_type(need)
        ),
        Cause::FullMatch => format!(
            "every attribute the query states matches; attributes it does not mention do not \
             count, so {label}."
        ),
    }
}

/// A misapplication of the deciding rule that lands one level off (`label`).
fn misapply(need: &QueryNeed, item: &ItemRecord, truth: Verdict, claimed: Label) -> String {
    let cat = &CATEGORIES[need.cat];
    let label = claimed.as_str();
    match truth.cause {
        Cause::Accessory => format!(
            "the item is made for the {}, the product the query names, so it is close to the \
             need: {label}.",
            attr(item, "accessory_for")
        ),
        Cause::Category => format!(
            "the item is from {} rather than {}, but a shopper could still use it, so {label}.",
            leaf(&item.category),
            cat.path.last().copied().unwrap_or_default()
        ),
        Cause::Attribute(dim) => {
            let wanted = need.stated.get(&dim).copied().unwrap_or_default();
            let have = attr(item, dim.key());
            let noun = dim.noun();
            match (truth.label, claimed) {
                (Label::L2, Label::L3) => format!(
                    "the {noun} differs ({wanted} vs {have}), but the item is otherwise the right \
                     product, so it is only a minor difference: {label}."
                ),
                (Label::L2, _) => format!(
                    "the {noun} differs ({wanted} vs {have}), so the item does not meet the need \
                     at all: {label}."
                ),
                _ => format!(
                    "the {noun} the query asks for ({wanted}) is not the item's ({have}), which \
                     makes it a mismatch: {label}."
                ),
            }
        }
        Cause::Price => format!(
            "the item costs ${:.2}, over the ${:.0} limit, so it does not meet the need: {label}.",
            item.price.unwrap_or_default(),
            need.price_max.unwrap_or_default()
        ),
        Cause::Synonym => format!(
            "the item is listed as \"{}\" but the query says \"{}\", a different product, so it \
             is only related: {label}.",
            attr(item, "type"),
            need.synonym.unwrap_or_default()
        ),
        Cause::FullMatch => {
            let unstated = Dim::ALL
                .into_iter()
                .find(|d| !need.stated.contains_key(d) && item.attributes.contains_key(d.key()))
                .unwrap_or(Dim::Colour);
            format!(
                "every stated attribute matches, but the {} ({}) was not confirmed by the \
                 shopper, so {label}.",
                unstated.noun(),
                attr(item, unstated.key())
            )
        }
    }
}

fn need_step(need: &QueryNeed) -> String {
    let mut parts: Vec<String> = need
        .stated
        .iter()
        .map(|(dim, value)| match (dim, need.synonym) {
            (Dim::Type, Some(word)) => format!("{} {value} (written \"{word}\")", dim.noun()),
            _ => format!("{} {value}", dim.noun()),
        })
        .collect();
    if let Some(cap) = need.price_max {
        parts.push(format!("price under ${cap:.0}"));
    }
    format!(
        "Query need: \"{}\" asks for {}.",
        need.text,
        parts.join(", ")
    )
}

const FACT_KEYS: [&str; 11] = [
    "brand",
    "model",
    "model_number",
    "type",
    "accessory_for",
    "compatibility",
    "audience",
    "size",
    "material",
    "style",
    "colour",
];

fn facts_step(item: &ItemRecord) -> String {
    let facts: Vec<String> = FACT_KEYS
        .iter()
        .filter_map(|k| {
            item.attributes
                .get(*k)
                .map(|v| format!("{} {v}", k.replace('_', " ")))
        })
        .collect();
    let price = item
        .price
        .map(|p| format!("; price ${p:.2}"))
        .unwrap_or_default();
    format!(
        "Item facts: \"{}\" in {}; {}{price}.",
        item.title,
        item.category.join(" > "),
        facts.join(", ")
    )
}

fn match_step(
    voice: &Voice,
    need: &QueryNeed,
    item: &ItemRecord,
    mistake: Option<Mistake>,
) -> String {
    let cat = &CATEGORIES[need.cat];
    let mark = |ok: bool| if ok { voice.ok } else { voice.bad };
    if item.attributes.contains_key("accessory_for") {
        return format!(
            "Attribute match: the item is {} for the {} {}; the query asks for {}, not an accessory.",
            attr(item, "type"),
            attr(item, "accessory_for"),
            voice.bad,
            need_type(need)
        );
    }
    if !in_category(item, cat) {
        return format!(
            "Attribute match: category {} vs {} {}.",
            cat.path.last().copied().unwrap_or_default(),
            leaf(&item.category),
            voice.bad
        );
    }
    let mut parts: Vec<String> = need
        .stated
        .iter()
        .map(|(&dim, &wanted)| {
            let actual = attr(item, dim.key());
            let (shown, ok) = match mistake {
                Some(Mistake::Overlooks(d)) if d == dim => (wanted, true),
                Some(Mistake::Misreads(d, seen)) if d == dim => (seen, false),
                _ => (actual, same_value(dim, wanted, actual)),
            };
            format!("{} {wanted} vs {shown} {}", dim.noun(), mark(ok))
        })
        .collect();
    if let (Some(cap), Some(price)) = (need.price_max, item.price) {
        let ok = price <= cap || mistake == Some(Mistake::OverlooksPrice);
        parts.push(format!("price ${price:.2} vs limit ${cap:.0} {}", mark(ok)));
    }
    format!("Attribute match: {}.", parts.join("; "))
}

/// Writes one candidate's reasoning: five steps whose mistake, if any, sits in the
/// "Attribute match" or "Rule check" step.
fn write_cot(
    voice: &Voice,
    need: &QueryNeed,
    item: &ItemRecord,
    truth: Verdict,
    mistake: Option<Mistake>,
) -> CotRecord {
    let misread_item;
    let (view, believed): (&ItemRecord, Verdict) = match mistake {
        None => (item, truth),
        Some(Mistake::Overlooks(dim)) => {
            let mut lenient = need.clone();
            lenient.stated.remove(&dim);
            (item, label_by_guideline(&lenient, item))
        }
        Some(Mistake::OverlooksPrice) => {
            let mut lenient = need.clone();
            lenient.price_max = None;
            (item, label_by_guideline(&lenient, item))
        }
        Some(Mistake::Misreads(dim, seen)) => {
            let mut seen_item = item.clone();
            seen_item
                .attributes
                .insert(dim.key().to_owned(), seen.to_owned());
            misread_item = seen_item;
            (&misread_item, label_by_guideline(need, &misread_item))
        }
        Some(Mistake::TooLenient) => (
            item,
            Verdict {
                label: truth.label.more_lenient(),
                ..truth
            },
        ),
        Some(Mistake::TooStrict) => (
            item,
            Verdict {
                label: truth.label.stricter(),
                ..truth
            },
        ),
    };
    let reason = match mistake {
        Some(Mistake::TooLenient | Mistake::TooStrict) => {
            misapply(need, item, truth, believed.label)
        }
        _ => explain(need, view, believed),
    };
    let steps = vec![
        need_step(need),
        facts_step(item),
        match_step(voice, need, item, mistake),
        format!("Rule check: {} {reason}", believed.rule),
        format!("Verdict: {}", believed.label.as_str()),
    ];
    CotRecord {
        model: voice.model.to_owned(),
        text: steps.join("\n"),
        steps,
        label: Some(believed.label.as_str().to_owned()),
    }
}

fn cot_candidates(
    need: &QueryNeed,
    item: &ItemRecord,
    truth: Verdict,
    hard: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<CotRecord> {
    VOICES
        .iter()
        .map(|voice| {
            let accuracy = if hard {
                voice.hard_accuracy
            } else {
                voice.easy_accuracy
            };
            let mistake = if rng.random_bool(accuracy) {
                None
            } else {
                Some(choose_mistake(need, truth, rng))
            };
            write_cot(voice, need, item, truth, mistake)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Putting it together
// ---------------------------------------------------------------------------------------

/// Zipf-like traffic: generic queries (few stated attributes) tend to be the head.
fn frequencies(needs: &[QueryNeed], rng: &mut ChaCha8Rng) -> Vec<i64> {
    let mut order: Vec<(f64, usize)> = needs
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let specificity = n.stated.len() as f64 + f64::from(u8::from(n.price_max.is_some()));
            (specificity + rng.random::<f64>() * 2.5, i)
        })
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut frequency = vec![1; needs.len()];
    for (rank, &(_, i)) in order.iter().enumerate() {
        let zipf = 40_000.0 / ((rank + 1) as f64).powf(1.1);
        let jitter = rng.random_range(0.85..1.15);
        if let Some(f) = frequency.get_mut(i) {
            *f = ((zipf * jitter).round() as i64).max(1);
        }
    }
    frequency
}

/// The demo data, the query needs, and for each pair the index of its query need.
type Built = (DemoData, Vec<QueryNeed>, Vec<usize>);

/// Generates the demo and keeps the query needs, so tests can recompute true labels.
fn build(seed: u64) -> Built {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut catalog = Catalog::new();
    let mut needs: Vec<QueryNeed> = Vec::new();
    let mut candidates: Vec<Vec<usize>> = Vec::new();
    let mut texts = BTreeSet::new();
    let mut total = 0;
    let mut attempts = 0;
    while total < TARGET_PAIRS && attempts < 20 * TARGET_PAIRS {
        attempts += 1;
        let cat = rng.random_range(0..CATEGORIES.len());
        let anchor = random_sku(cat, &mut rng);
        let Some(need) = compose_query(&anchor, &mut rng) else {
            continue;
        };
        if !texts.insert(need.text.clone()) {
            continue;
        }
        let items = candidate_items(&need, &anchor, &mut catalog, &mut rng);
        total += items.len();
        needs.push(need);
        candidates.push(items);
    }

    let frequency = frequencies(&needs, &mut rng);
    let mut pairs = Vec::with_capacity(total);
    let mut pair_need = Vec::with_capacity(total);
    for (q, (need, items)) in needs.iter().zip(&candidates).enumerate() {
        for &index in items {
            let Some(item) = catalog.items.get(index) else {
                continue;
            };
            let truth = label_by_guideline(need, item);
            let hard = is_hard(need, item, truth);
            let cot = cot_candidates(need, item, truth, hard, &mut rng);
            let gold_label = rng
                .random_bool(GOLD_SHARE)
                .then(|| truth.label.as_str().to_owned());
            pairs.push(PairRecord {
                query: need.text.clone(),
                query_frequency: frequency.get(q).copied(),
                item: item.clone(),
                cot,
                gold_label,
                tags: pair_tags(need, truth, hard),
                // One pair in six asks for the CoT ranking too, so a new user meets the
                // ranking screen within the first few pairs.
                task: (pairs.len() % 6 == 5).then_some(TaskKind::JudgeAndRank),
            });
            pair_need.push(q);
        }
    }
    (
        DemoData {
            rules: rules().to_vec(),
            pairs,
        },
        needs,
        pair_need,
    )
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    const LABELS: [&str; 4] = ["L1", "L2", "L3", "L4"];

    fn demo() -> &'static Built {
        static DEMO: OnceLock<Built> = OnceLock::new();
        DEMO.get_or_init(|| build(42))
    }

    fn pairs() -> &'static [PairRecord] {
        &demo().0.pairs
    }

    /// Each pair with its query need and true label.
    fn truths() -> impl Iterator<Item = (&'static PairRecord, &'static QueryNeed, Verdict)> {
        let (data, needs, pair_need) = demo();
        data.pairs.iter().zip(pair_need).map(|(pair, &q)| {
            let need = &needs[q];
            (pair, need, label_by_guideline(need, &pair.item))
        })
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = generate(7);
        assert_eq!(a, generate(7));
        let b = generate(8);
        assert_ne!(a.pairs, b.pairs);
        assert_eq!(a.rules, b.rules);
    }

    #[test]
    fn pair_count_and_categories_are_in_range() {
        let n = pairs().len();
        assert!((3_000..=6_000).contains(&n), "{n} pairs");
        let categories: BTreeSet<&Vec<String>> = pairs()
            .iter()
            .filter(|p| !p.item.attributes.contains_key("accessory_for"))
            .map(|p| &p.item.category)
            .collect();
        assert!(categories.len() >= 6, "{categories:?}");
    }

    #[test]
    fn every_pair_has_three_structured_candidates() {
        let rule_ids: BTreeSet<String> = demo().0.rules.iter().map(|r| r.key.clone()).collect();
        for pair in pairs() {
            let models: Vec<&str> = pair.cot.iter().map(|c| c.model.as_str()).collect();
            assert_eq!(models, ["lore-7b-v3", "lore-7b-v2", "qwen-14b-cot"]);
            for cot in &pair.cot {
                let label = cot.label.as_deref().unwrap_or_default();
                assert!(LABELS.contains(&label), "{label}");
                assert_eq!(cot.steps.len(), 5);
                assert_eq!(cot.text, cot.steps.join("\n"));
                let prefixes = [
                    "Query need: ",
                    "Item facts: ",
                    "Attribute match: ",
                    "Rule check: R-",
                    "Verdict: ",
                ];
                for (step, prefix) in cot.steps.iter().zip(prefixes) {
                    assert!(
                        step.starts_with(prefix),
                        "{step:?} should start with {prefix:?}"
                    );
                }
                assert_eq!(cot.steps[4], format!("Verdict: {label}"));
                let cited = cot.steps[3]["Rule check: ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default();
                assert!(rule_ids.contains(cited), "{cited} is not in the guideline");
                assert!(
                    cot.steps[3].contains(label),
                    "{:?} does not reach {label}",
                    cot.steps[3]
                );
            }
        }
    }

    #[test]
    fn candidates_disagree_on_a_plausible_share() {
        let disagreeing = pairs()
            .iter()
            .filter(|p| p.cot.iter().any(|c| c.label != p.cot[0].label))
            .count();
        let share = disagreeing as f64 / pairs().len() as f64;
        assert!((0.05..=0.60).contains(&share), "disagreement {share}");
        // Hard pairs are harder for the models.
        let wrong_share = |hard: bool| {
            let selected: Vec<_> = truths()
                .filter(|(p, _, _)| p.tags.iter().any(|t| t == "hard") == hard)
                .collect();
            let wrong = selected
                .iter()
                .flat_map(|(p, _, v)| {
                    p.cot
                        .iter()
                        .map(move |c| c.label.as_deref() != Some(v.label.as_str()))
                })
                .filter(|w| *w)
                .count();
            wrong as f64 / (3 * selected.len()).max(1) as f64
        };
        assert!(wrong_share(true) > wrong_share(false));
    }

    #[test]
    fn wrong_candidates_show_their_mistake_in_a_step() {
        let mut wrong = 0;
        for (pair, need, truth) in truths() {
            for (voice, cot) in VOICES.iter().zip(&pair.cot) {
                if cot.label.as_deref() == Some(truth.label.as_str()) {
                    continue;
                }
                wrong += 1;
                let right = write_cot(voice, need, &pair.item, truth, None);
                assert_eq!(cot.steps[..2], right.steps[..2]);
                assert!(
                    cot.steps[2] != right.steps[2] || cot.steps[3] != right.steps[3],
                    "{cot:?} is wrong but reasons like the right answer"
                );
            }
        }
        assert!(wrong > 100, "only {wrong} wrong candidates");
    }

    #[test]
    fn gold_labels_follow_the_guideline() {
        let mut gold = 0;
        for (pair, _, truth) in truths() {
            if let Some(label) = &pair.gold_label {
                gold += 1;
                assert_eq!(
                    label,
                    truth.label.as_str(),
                    "{} / {}",
                    pair.query,
                    pair.item.id
                );
            }
        }
        let share = f64::from(gold) / pairs().len() as f64;
        assert!((0.03..=0.15).contains(&share), "gold share {share}");
    }

    #[test]
    fn true_labels_cover_the_scale() {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, _, truth) in truths() {
            *counts.entry(truth.label.as_str()).or_default() += 1;
        }
        for label in LABELS {
            let share =
                counts.get(label).copied().unwrap_or_default() as f64 / pairs().len() as f64;
            assert!(
                share >= 0.10,
                "{label} is only {share} of true labels: {counts:?}"
            );
        }
    }

    #[test]
    fn guideline_is_well_formed() {
        let rules = &demo().0.rules;
        assert!((10..=14).contains(&rules.len()));
        let ids: BTreeSet<&str> = rules.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(ids.len(), rules.len(), "rule ids repeat");
        for rule in rules {
            assert!(
                rule.key.starts_with("R-") && rule.key.ends_with("-01"),
                "{}",
                rule.key
            );
            assert!(!rule.title.is_empty());
            let sentences = rule.body.matches(". ").count() + 1;
            assert!(
                (2..=4).contains(&sentences),
                "{} has {sentences} sentences",
                rule.key
            );
            assert!(!rule.capabilities.is_empty());
            for c in &rule.capabilities {
                assert!([KR, MM, RA].contains(&c.as_str()), "{c}");
            }
        }
        for dim in Dim::ALL {
            assert!(ids.contains(dim.rule()));
        }
    }

    #[test]
    fn pairs_are_unique_and_items_consistent() {
        let mut seen = BTreeSet::new();
        let mut items: BTreeMap<&str, &ItemRecord> = BTreeMap::new();
        for pair in pairs() {
            assert!(
                seen.insert((pair.query.as_str(), pair.item.id.as_str())),
                "({}, {}) twice",
                pair.query,
                pair.item.id
            );
            let first = items.entry(pair.item.id.as_str()).or_insert(&pair.item);
            assert_eq!(*first, &pair.item);
            for (n, url) in pair.item.images.iter().enumerate() {
                assert_eq!(
                    url,
                    &format!("https://images.example.com/{}/{}.jpg", pair.item.id, n + 1)
                );
            }
            assert!(pair.item.price.is_some_and(|p| p > 0.0));
            let mut sorted = pair.tags.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted, pair.tags);
            for tag in &pair.tags {
                assert!([KR, MM, RA, "hard"].contains(&tag.as_str()), "{tag}");
            }
        }
        assert!(
            items.len() < pairs().len(),
            "items are never shared between queries"
        );
    }

    #[test]
    fn query_frequency_is_consistent_and_long_tailed() {
        let mut frequency: BTreeMap<&str, i64> = BTreeMap::new();
        for pair in pairs() {
            let f = pair.query_frequency.unwrap_or(0);
            assert!(f > 0);
            assert_eq!(
                *frequency.entry(pair.query.as_str()).or_insert(f),
                f,
                "{}",
                pair.query
            );
        }
        let mut all: Vec<i64> = frequency.values().copied().collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        let total: i64 = all.iter().sum();
        let head: i64 = all.iter().take(all.len() / 10).sum();
        assert!(head * 2 > total, "top 10% carry {head} of {total}");
    }

    #[test]
    fn hard_pairs_and_capabilities_are_tagged() {
        let hard = pairs()
            .iter()
            .filter(|p| p.tags.iter().any(|t| t == "hard"))
            .count();
        let share = hard as f64 / pairs().len() as f64;
        assert!((0.05..=0.5).contains(&share), "hard share {share}");
        for cap in [KR, MM, RA] {
            assert!(
                pairs().iter().any(|p| p.tags.iter().any(|t| t == cap)),
                "{cap}"
            );
        }
    }

    fn sample_item(attrs: &[(&str, &str)], category: &[&str], price: f64) -> ItemRecord {
        ItemRecord {
            id: "T-1".into(),
            title: "Test item".into(),
            category: category.iter().map(|s| (*s).to_owned()).collect(),
            attributes: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            price: Some(price),
            images: vec![],
            description: None,
        }
    }

    #[test]
    fn the_guideline_orders_key_before_minor_differences() {
        // "nike pegasus 41 mens size 10 black"
        let need = QueryNeed {
            cat: 1,
            text: "nike pegasus 41 mens size 10 black".into(),
            stated: BTreeMap::from([
                (Dim::Type, "running shoes"),
                (Dim::Brand, "Nike"),
                (Dim::Model, "Pegasus 41"),
                (Dim::Audience, "men"),
                (Dim::Size, "10"),
                (Dim::Colour, "black"),
            ]),
            price_max: Some(150.0),
            synonym: None,
        };
        let shoe = |size: &str, colour: &str, model: &str| {
            sample_item(
                &[
                    ("type", "running shoes"),
                    ("brand", "Nike"),
                    ("model", model),
                    ("audience", "men"),
                    ("size", size),
                    ("colour", colour),
                ],
                &["Shoes", "Running"],
                139.99,
            )
        };
        let verdict = |item: &ItemRecord| {
            let v = label_by_guideline(&need, item);
            (v.label, v.rule)
        };
        assert_eq!(
            verdict(&shoe("10", "black", "Pegasus 41")),
            (Label::L4, "R-FULL-01")
        );
        assert_eq!(
            verdict(&shoe("10", "blue", "Pegasus 41")),
            (Label::L3, "R-COLOR-01")
        );
        assert_eq!(
            verdict(&shoe("10.5", "blue", "Pegasus 41")),
            (Label::L2, "R-SIZE-01")
        );
        assert_eq!(
            verdict(&shoe("10.5", "black", "Pegasus 40")),
            (Label::L2, "R-MODEL-01")
        );
        let mut pricey = shoe("10", "black", "Pegasus 41");
        pricey.price = Some(179.99);
        assert_eq!(verdict(&pricey), (Label::L3, "R-PRICE-01"));
        let insoles = sample_item(
            &[("type", "insoles"), ("accessory_for", "Nike Pegasus 41")],
            &["Shoes", "Accessories"],
            54.99,
        );
        assert_eq!(verdict(&insoles), (Label::L1, "R-ACC-01"));
        let chair = sample_item(
            &[("brand", "Nike")],
            &["Furniture", "Office", "Office Chairs"],
            99.0,
        );
        assert_eq!(verdict(&chair), (Label::L1, "R-CAT-01"));
    }

    #[test]
    fn material_is_key_for_cookware_and_minor_for_dresses() {
        let cookware = QueryNeed {
            cat: 2,
            text: "cast iron skillet 12 inch".into(),
            stated: BTreeMap::from([
                (Dim::Type, "skillet"),
                (Dim::Material, "cast iron"),
                (Dim::Size, "12 inch"),
            ]),
            price_max: None,
            synonym: None,
        };
        let pan = sample_item(
            &[
                ("type", "skillet"),
                ("material", "enameled cast iron"),
                ("size", "12 inch"),
            ],
            &["Home", "Kitchen", "Cookware"],
            220.0,
        );
        assert_eq!(label_by_guideline(&cookware, &pan).label, Label::L2);
        let dress_need = QueryNeed {
            cat: 3,
            text: "linen midi dress".into(),
            stated: BTreeMap::from([(Dim::Type, "midi dress"), (Dim::Material, "linen")]),
            price_max: None,
            synonym: Some("tea length dress"),
        };
        let dress = |material: &str| {
            sample_item(
                &[("type", "midi dress"), ("material", material)],
                &["Clothing", "Women", "Dresses"],
                98.0,
            )
        };
        assert_eq!(
            label_by_guideline(&dress_need, &dress("silk")).label,
            Label::L3
        );
        let full = label_by_guideline(&dress_need, &dress("linen"));
        assert_eq!((full.label, full.rule), (Label::L4, "R-SYN-01"));
    }
}
