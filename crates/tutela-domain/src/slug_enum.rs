//! Closed sets of named values (`Action`, `Channel`, …): one macro so each
//! has the same stable slug, parsing, display and serde form.

/// Declares an enum whose variants each have a stable slug.
macro_rules! slug_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $slug:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in a stable order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable name stored in events and shown in the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $slug,)+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::InvalidValue;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                // A match, not a search of ALL: verification parses one per
                // stored event.
                match value {
                    $($slug => Ok($name::$variant),)+
                    _ => Err($crate::error::InvalidValue::new(concat!("is not a known ", $what))),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
