// Boost.URL's compiled part: Boost 1.81 ships no Boost::url library target on Debian, so its
// sources build here, once for the whole program (the library is header-only otherwise).
#include <boost/url/src.hpp>
